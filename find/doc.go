// Package find is the one fuzzy index behind patient find and every code picker. It
// answers a typed query at a million records within a frame, and its answers are exactly
// those of the brute-force reference matchers in this package (ReferencePatients,
// ReferenceTerms), which define the semantics below; differential and fuzz tests hold
// every fast path to them.
//
// # Text
//
// Text is folded once: lower case, accents removed ("Müller" -> "muller", "Zoë" ->
// "zoe"). A text splits into chunks at anything but letters, digits, apostrophes and
// hyphens. Apostrophes are dropped inside a chunk ("O'BRIEN" -> "obrien"); hyphens split
// a chunk into parts, each a word, and the joined parts are a word too ("Smith-Jones" ->
// "smith", "jones", "smithjones"). The leading words of a text are its first part and
// the joined form of its first chunk; for a patient these are the leading words of the
// surname (the other surname words and all given names are not leading), for a term the
// first word of the description.
//
// # Query tokens
//
// A query is folded and split at whitespace, commas and other punctuation, keeping
// apostrophe, hyphen, dot and slash inside a token. Tokens may come in any order and
// every token must match (AND). At most 12 tokens are read. Patient queries classify
// each token:
//
//   - A token with a digit and a separator (/ - .) is a date of birth: day/month/year
//     ("12/3/61", "12-Mar-1961", "12.03.1961") or year-month-day ("1961-03-12"). Three
//     tokens day, month name, year ("12 mar 1961") are a date too. Months are numbers
//     or at least three letters of their name. A two-digit year is the latest year
//     ending in those digits whose date is not after today. A date that does not exist
//     matches nothing.
//   - A run of digits, spaces allowed inside ("943 476 5919"), is one number: an NHS
//     number when it has 10 digits, an NHS number prefix when shorter; when it has 6
//     digits it is also a date DDMMYY, with 8 digits DDMMYYYY or YYYYMMDD.
//   - Letters and digits together are a postcode; an outward code followed by the
//     start of an inward code ("ls6 2", "ls6 2qt") is one token. It matches a patient's
//     postcode (spaces removed, folded) when it is exactly the outward code (the
//     district: "ls6" finds LS6 2QT but not LS16 or LS1 6AB), or is longer than the
//     outward code and a prefix of the whole. The outward code is what comes before the
//     space, or without a space everything but a trailing digit-letter-letter inward
//     code; foreign postcodes without either are all outward.
//   - Anything else is a name token, apostrophes and hyphens dropped ("o'brien" ->
//     "obrien").
//
// Term queries split at anything but letters, digits, apostrophes and hyphens and read
// every token as a word (digits too: "type 2"); when the trimmed query has no
// whitespace it is also compared with the code, ignoring case: the exact code, or a
// code it is a prefix of (3 characters or more).
//
// # Word matches
//
// A name token t matches a word w exactly (t == w), as a prefix (w starts with t), or —
// when t has at least 4 bytes — with a typo: t is within one edit (substitution,
// insertion, deletion, or swap of neighbours) of some prefix of w whose length differs
// from t's by at most one ("brwn" -> brown, "diabtes" -> diabetes, "smtih" -> smith).
// A typo in the whole word ranks above a typo in a prefix ("brwn": Brown, then Brana).
// A term token of 3 to 10 letters or digits (at least one letter) also matches as an
// initialism when the initials of the description's words (joined forms and the words
// of, and, the, with, in, to, due, for, on, by, or, at, from, a, an not counted) start
// with it ("t2dm" -> Type 2 diabetes mellitus, "copd" -> Chronic obstructive
// pulmonary disease).
//
// # Scores and ranking
//
// Each token scores its best match on the record; the record's score is the sum. Scores
// per token (constants Score*): leading word exact 60, other word exact 50, leading
// prefix 40, initialism 35, other prefix 30, leading word with a typo 25, typo in a
// leading word's prefix 20, other word with a typo 15, typo in its prefix 10; postcode
// whole or with part of the inward code 70, district 65; NHS number prefix 600, date of
// birth 800, whole NHS number 1000; for terms, code prefix (3 characters or more) 1500
// and exact code 2000, which replace the text score. So an exact NHS number comes
// first, then an exact date of birth, then a partial NHS number; an exact surname
// before a surname prefix before a typo; a typed code before any text.
//
// Patients opened within RecentWindow (30 days) gain RecentLift (15): a recently
// opened surname-prefix match (55) passes a given-name exact match (50) but not an exact
// surname (60). Ties: the more recently opened first (any
// time remembered, Opened keeps the last 1,000), then surname, given names (both folded),
// date of birth as written, id. Terms: ties go to active terms, then preferred terms,
// then shorter descriptions (bytes), then description, code, position in the slice.
//
// # How it is fast
//
// Records are stored in tie order (rank), so a posting list in rank order yields
// candidates in the order ties are broken. A query is compiled against the sorted
// vocabulary (prefix ranges; typo candidates from the words sharing the first byte and
// from two prefix ranges and two ranges of a vocabulary sorted from the second byte).
// The most selective token drives: its matches form levels, one per score, each a set
// of rank-ordered lists merged lazily; every candidate is scored in full, into a top-k
// heap. A level stops as soon as nothing left in it can enter the top k, and lower
// levels are skipped once their bound cannot: a 1-character query reads a few dozen
// records, not a tenth of the index. With more than one token, the matches of the
// second most selective token are first marked in a bitset, so most candidates are
// dropped with one bit test. Exact NHS numbers, dates of birth and postcodes are
// direct lookups in sorted arrays. Patients changed since the bulk build live in a small
// delta matched like the reference; the bulk part is rebuilt in the background when the
// delta grows (Rebuild forces it). Searches check ctx and return nil when it is
// cancelled.
//
// # Loading
//
// BuildPatients builds from a slice in one go. At start-up, PatientLoader builds
// straight from the compact rows of the practice file's "search" bucket
// (EncodePatientRow, keyed by id) without decoding each into a Patient. BuildTerms keeps
// the slice it is given; TermHit.Index points into it.
//
// # Benchmarks
//
// RunBench is `gpsoc bench find`; testdata/queries-*.txt are the standard query sets
// (every query class). BenchmarkPatientSearch and BenchmarkTermSearch run each standard
// query at 100k (FIND_BENCH_SIZE to change) and report p95-ms; TestBenchFull, when
// FIND_BENCH_FULL=1, runs RunBench at a million patients and 1.5 million terms with
// the sahilm/fuzzy and fzf anchors.
package find
