// Package terminology holds the clinical code systems: SNOMED CT (RF2), dm+d, CTV3, Read v2,
// the NHS Read→SNOMED maps and named code lists; their hierarchies, a subset of ECL, and the
// code-search backend every picker uses. It imports only find (the shared fuzzy index),
// fixtures/embedded (the shipped default) and bbolt.
//
// # Storage
//
// One bbolt file, terminology.db, beside the practice file, created owner-only (0600). Each
// source — snomed, dmd, ctv3, read2, read-map, and every code list — is a separate generation
// bucket. An import builds the new generation completely, then switches the source to it and
// drops the old one in a single transaction: a failed import (any bad row, reported as
// file:line: reason) leaves the release in use untouched, and other sources are never touched.
// Only one process can hold the file: Open returns an error wrapping ErrBusy after 2 s.
//
// A source never imported gets the embedded default (fixtures/embedded: the SNOMED CT IPS
// free set with a cited supplement, the dm+d extracts and dm+d code lists), built into the
// file on first use (0.5–1.5 s, once per machine); later opens read the file
// (milliseconds). A real release replaces the embedded rows of its own source only.
//
// # API for commands (gpsoc codes …)
//
//	tm, err := terminology.Open(dataDir)            // defer tm.Close()
//	tm.Warm()                                       // TUI/server: build search indexes in the background
//
//	// gpsoc codes import rf2|ctv3|read2|read-map|dmd PATH... ; import codelist NAME FILE
//	info, err := tm.ImportRF2(paths...)            // folders or zips, several packages at once
//	info, err := tm.ImportCTV3(path)               // folder or zip holding Concept.v3 …
//	info, err := tm.ImportRead2(path)              // folder or zip holding Corev2.all [Keyv2.all]
//	info, err := tm.ImportReadMap(paths...)        // rcsctmap2_uk_*.txt, ctv3sctmap2_uk_*.txt
//	info, err := tm.ImportDMD(paths...)            // f_*2_*.xml folders, files or TRUD zips
//	info, err := tm.ImportCodelist(name, file)     // OpenCodelists CSV header variants
//	// info is a SourceInfo (counts, warnings); a bad file is an *ImportError (exit 1,
//	// print err: it lists file:line: reason for the first 20 rows and the total)
//
//	// gpsoc codes search TEXT [--system S] [--ecl EXPR] [--limit N] [--include-inactive]
//	sys, err := terminology.SystemURI(flag)        // sct|dmd|ctv3|read2|URI -> URI; *ValueError (exit 2)
//	rs, err := tm.Search(ctx, text, terminology.SearchOptions{System: s, ECL: e, Limit: n, IncludeInactive: b})
//	// []Result{System, Code, Term, Active, Preferred}; JSON: system, code, term, active, preferred.
//	// One row per code, best first; a code typed exactly comes first. A SNOMED search also
//	// finds dm+d products (their ids are SNOMED ids); SearchOptions.Codelist limits to a list.
//	// Cost: a whole code answers at once; a search narrowed (ECL, code list) to ≤ 50,000 terms
//	// scans just those with find's reference matcher; any other search builds the source's
//	// find index on first use (seconds for a full UK release: long-lived processes call Warm).
//
//	// Pickers (rank.go): SearchOptions.Picker = PickerProblem|PickerConsultation|PickerDrug
//	// ranks for the field; Usage lifts this practice's and this user's codes; Result.Match
//	// says why a row was found (code, shorthand, whole, prefix, words, fuzzy) and
//	// Result.Generic names a brand's generic. tm.SearchNote(rs) is NotInEmbedded when the
//	// embedded default had nothing better than a typo.
//	// gpsoc codes shorthand list|check FILE (shorthand.go): the GP shorthand table
//	rows, warning := tm.Shorthands(); rows, err := tm.CheckShorthand(r, name) // *RowsError
//	// gpsoc bench codes-quality --queries FILE (quality.go)
//	qs, err := terminology.ParseJudged(r, name); rep, err := tm.RunQuality(ctx, qs)
//
//	// gpsoc codes show CODE [--system S]
//	d, err := tm.Concept(system, code)             // ConceptDetail, JSON: code, system, active, fsn,
//	                                               // preferredTerm, synonyms, parents, replacedBy
//	// gpsoc codes ecl EXPR
//	cs, err := tm.ECL(expr)                        // []Concept, JSON: system, code, term, active
//	// gpsoc codes subsumes A B  (prints true|false, exit 0; unknown code exit 2)
//	ok, err := tm.Subsumes(a, b)                   // errors.Is(err, terminology.ErrNotFound)
//	// gpsoc codes about
//	srcs := tm.About()                             // []SourceInfo: name, system, release, embedded,
//	                                               // importedAt, counts, licence, attribution
//
// Errors: *NotFoundError (errors.Is ErrNotFound), *InactiveError (ErrInactive, with the
// suggested replacements), *ValueError (bad ECL, bad system name), *ImportError (bad rows),
// ErrBusy (file held by another process: exit 3), ErrNoMap (no Read map imported).
//
// # API for clinical services
//
//	err := tm.Validate(system, code)      // nil, *NotFoundError, or *InactiveError naming replacements
//	reps, err := tm.Replacements(system, code) // inactive -> successors; Automatic only for a
//	                                           // single REPLACED BY / SAME AS (never applied silently)
//	p, err := tm.Product(code)            // dm+d VMP/AMP/VTM/VMPP/AMPP: VTM, Ingredients (substance
//	                                      // code, name, strength), Form, Routes, UnitOfMeasure,
//	                                      // IngredientsVerified, Derived, Controlled, Invalid
//	ok, err := tm.Subsumes("373270004", ingredient.Code) // e.g. penicillin allergy vs ingredient
//	m, err := tm.CompileECL(expr)         // m.Contains(system, code): fast membership (bitset)
//	ms, err := tm.MapLegacy("read2"|"ctv3", code) // legacy code -> SNOMED concepts (assured first)
//	anc, err := tm.Ancestors(system, code); desc, err := tm.Descendants(system, code)
//	codes, err := tm.DescendantCodes(system, code) // no terms: the fast path for searches
//	sys, members, err := tm.Codelist(name); names := tm.Codelists(); tm.RemoveCodelist(name)
//
// Product.IngredientsVerified false means the ingredients are not known (a co- product known
// only from a code list, or a brand name that matched nothing): a safety check must say it
// cannot check, never treat it as "no ingredients".
//
// # Hierarchy and ECL
//
// Each source's is-a graph is held in memory as parent and child adjacency arrays over dense
// ids (loaded from the file in milliseconds). Subsumption walks up from the candidate (SNOMED
// ancestor sets are tens of concepts); `<<` walks down with a bitset. Budgets (design.md §7):
// subsumption ≤ 50 µs, `<<` of 10,000 descendants ≤ 20 ms; bench_test.go measures both on
// synthetic releases from rf2gen (GPSOC_BENCH_FULL=1 for the full UK shape).
//
// ECL subset: id, *, ^refset (or ^name of an imported code list), < << > >> (and <! <<! >! >>!), AND (or ","), OR, MINUS,
// parentheses; |term| comments ignored; mixing AND and OR needs parentheses. Refinements and
// filters are rejected with a *ValueError. dm+d class refsets are synthesised in the dm+d
// source (VTM 999000581000001102, VMP 999000561000001109, AMP 999000541000001108, VMPP
// 999000571000001104, AMPP 999000551000001106), so `^999000561000001109` limits a search to VMPs.
package terminology
