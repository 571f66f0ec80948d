package terminology

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Product is a dm+d product as the prescribing checks need it.
type Product struct {
	Code        string       `json:"code"`
	Kind        string       `json:"kind"` // VTM, VMP, AMP, VMPP, AMPP
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"` // AMP: name with supplier
	VTM         *CodeTerm    `json:"vtm,omitempty"`
	VMP         *CodeTerm    `json:"vmp,omitempty"` // AMP, VMPP, AMPP
	AMP         *CodeTerm    `json:"amp,omitempty"` // AMPP
	VMPP        *CodeTerm    `json:"vmpp,omitempty"`
	Ingredients []Ingredient `json:"ingredients"`
	// IngredientsVerified is true when the ingredients come from dm+d's own ingredient rows, or
	// from a product name that names them. False means: not known — a combination product whose
	// name does not name its ingredients (co-amoxiclav, co-codamol…) or a brand name that
	// matched nothing. Safety checks must treat false as "cannot be checked", never as "none".
	IngredientsVerified bool `json:"ingredientsVerified"`
	// Derived: VTM and ingredients were derived by matching the name against the complete dm+d
	// VTM and ingredient tables (a product known only from a code list), not read from dm+d.
	Derived       bool       `json:"derived"`
	Note          string     `json:"note,omitempty"`
	Form          *CodeTerm  `json:"form,omitempty"`
	Routes        []CodeTerm `json:"routes,omitempty"`
	UnitOfMeasure *CodeTerm  `json:"unitOfMeasure,omitempty"` // unit dose form units (UDFS_UOMCD), e.g. tablet
	UnitDose      *CodeTerm  `json:"unitDoseUnitOfMeasure,omitempty"`
	UnitDoseSize  string     `json:"unitDoseFormSize,omitempty"`
	Quantity      string     `json:"quantity,omitempty"` // packs: "28 tablet"
	Controlled    *CodeTerm  `json:"controlledDrugCategory,omitempty"`
	Prescribing   string     `json:"prescribingStatus,omitempty"`
	Invalid       bool       `json:"invalid"`
	PreviousCodes []string   `json:"previousCodes,omitempty"`
	Source        string     `json:"source"`
	// The medicines model (medicines.go): where the BNF files the product,
	// where its ingredients came from (dmd, bnf, bnf-split, bnf-presentation,
	// bnf-curated, name), whether they are only part of the list, and the
	// curated classes it belongs to by its BNF substance (or, without a BNF
	// link, by its ingredients).
	BNF             *BNFLink   `json:"bnf,omitempty"`
	IngredientsFrom string     `json:"ingredientsFrom"`
	Partial         bool       `json:"partial,omitempty"`
	Classes         []CodeTerm `json:"classes"`
}

// Ingredient is an active ingredient substance (a SNOMED CT substance) with its strength.
type Ingredient struct {
	Code             string    `json:"code"`
	Name             string    `json:"name"`
	Strength         string    `json:"strength,omitempty"` // "500 mg", "100 mg / 5 ml"
	BasisOfStrength  *CodeTerm `json:"basisOfStrength,omitempty"`
	NumeratorValue   float64   `json:"numeratorValue,omitempty"`
	NumeratorUnit    string    `json:"numeratorUnit,omitempty"`
	DenominatorValue float64   `json:"denominatorValue,omitempty"`
	DenominatorUnit  string    `json:"denominatorUnit,omitempty"`
}

// dm+d class refsets (standards.md §5.2), so `^999000561000001109` limits a search to VMPs.
var dmdRefsets = map[string]string{
	"VTM": "999000581000001102", "VMP": "999000561000001109", "AMP": "999000541000001108",
	"VMPP": "999000571000001104", "AMPP": "999000551000001106",
}

// Product returns a dm+d product (VMP, AMP, VTM, VMPP, AMPP) by code.
func (t *Terminology) Product(code string) (Product, error) {
	return retry(func() (Product, error) { return t.product(code) })
}

func (t *Terminology) product(code string) (Product, error) {
	s := t.source(SourceDMD)
	if s == nil {
		return Product{}, &NotFoundError{System: SystemDMD, Code: code}
	}
	var p Product
	found := false
	err := t.db.view(func(tx *bolt.Tx) error {
		g, err := genBucket(tx, s.gen)
		if err != nil {
			return err
		}
		v := g.Bucket(bktProduct).Get([]byte(code))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &p)
	})
	if err != nil {
		return Product{}, fmt.Errorf("read product %s: %w", code, err)
	}
	if !found {
		return Product{}, &NotFoundError{System: SystemDMD, Code: code}
	}
	if p.Ingredients == nil {
		p.Ingredients = []Ingredient{}
	}
	if err := medicinesErr(); err != nil {
		return Product{}, fmt.Errorf("medicines knowledge: %w", err)
	}
	medicinesOnce().annotate(&p)
	return p, nil
}

// ImportDMD imports dm+d XML (f_vtm2, f_vmp2, f_amp2, f_vmpp2, f_ampp2, f_ingredient2,
// f_lookup2; folders or zips, as released on TRUD). The dm+d source is replaced as a whole.
func (t *Terminology) ImportDMD(paths ...string) (SourceInfo, error) {
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return SourceInfo{}, err
	}
	in, err := collectInputs(paths)
	if err != nil {
		return SourceInfo{}, err
	}
	defer in.Close()
	d, err := parseDMD(in.files)
	if err != nil {
		return SourceInfo{}, err
	}
	if len(d.vmp) == 0 && len(d.vtm) == 0 && len(d.amp) == 0 {
		return SourceInfo{}, fmt.Errorf("import dmd: no f_vtm2, f_vmp2 or f_amp2 XML in %s", strings.Join(paths, ", "))
	}
	r := d.release()
	r.info.Files = paths
	r.info.Release = dmdRelease(paths, in.files)
	return t.install(r)
}

func dmdRelease(paths []string, files []inputFile) string {
	for _, p := range paths {
		b := filepath.Base(p)
		if strings.HasPrefix(strings.ToLower(b), "nhsbsa_dmd") {
			return strings.TrimSuffix(b, filepath.Ext(b))
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f.base, "f_vtm2_") {
			return strings.TrimSuffix(strings.TrimPrefix(f.base, "f_vtm2_"), ".xml")
		}
	}
	return ""
}

type dmdRow struct {
	f    map[string]string
	file string
	line int
}

type dmdData struct {
	vtm, vmp, vpi, dform, droute, control, amp, vmpp, ampp, ing []dmdRow
	bnf                                                         []dmdRow                     // f_bnf1: VMP/AMP -> BNF code (the dm+d BNF supplementary file)
	lookup                                                      map[string]map[string]string // table -> CD -> DESC
}

func dmdKind(base string) string {
	b := strings.ToLower(base)
	if !strings.HasSuffix(b, ".xml") {
		return ""
	}
	for _, k := range []string{"f_vtm2", "f_vmpp2", "f_vmp2", "f_ampp2", "f_amp2", "f_ingredient2", "f_lookup2", "f_bnf1"} {
		if strings.HasPrefix(b, k) {
			return k
		}
	}
	return ""
}

func parseDMD(files []inputFile) (*dmdData, error) {
	d := &dmdData{lookup: map[string]map[string]string{}}
	probs := &problems{}
	for _, f := range files {
		k := dmdKind(f.base)
		if k == "" {
			continue
		}
		if err := d.parseFile(f, probs); err != nil {
			probs.add(f.name, 0, "%v", err)
		}
	}
	// required fields
	check := func(rows []dmdRow, what string, fields ...string) {
		for _, r := range rows {
			for _, fl := range fields {
				v := r.f[fl]
				if v == "" {
					probs.add(r.file, r.line, "%s without %s", what, fl)
					break
				}
				if strings.HasSuffix(fl, "ID") && fl != "NM" {
					if _, err := strconv.ParseUint(v, 10, 64); err != nil {
						probs.add(r.file, r.line, "%s %s %q is not a number", what, fl, v)
						break
					}
				}
			}
		}
	}
	check(d.vtm, "VTM", "VTMID", "NM")
	check(d.vmp, "VMP", "VPID", "NM")
	check(d.vpi, "VPI", "VPID", "ISID")
	check(d.amp, "AMP", "APID", "VPID", "NM")
	check(d.vmpp, "VMPP", "VPPID", "VPID", "NM")
	check(d.ampp, "AMPP", "APPID", "APID", "VPPID", "NM")
	check(d.ing, "ingredient", "ISID", "NM")
	if err := probs.err(SourceDMD); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *dmdData) parseFile(f inputFile, probs *problems) error {
	rc, err := f.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	table := ""
	depth := 0
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				probs.add(f.name, line, "file ends inside an element (truncated)")
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				probs.add(f.name, se.Line, "%s", se.Msg)
				return nil
			}
			probs.add(f.name, line, "%v", err)
			return nil
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			name := el.Name.Local
			var dst *[]dmdRow
			switch {
			case dmdKind(f.base) == "f_bnf1":
				// BNF_DETAILS/VMPS/VMP and /AMPS/AMP: a product's BNF code
				if depth == 3 && (name == "VMP" || name == "AMP") {
					dst = &d.bnf
				}
				name = ""
			}
			switch name {
			case "":
			case "VTM":
				dst = &d.vtm
			case "VMP":
				if depth == 3 { // VIRTUAL_MED_PRODUCTS/VMPS/VMP
					dst = &d.vmp
				}
			case "VPI":
				dst = &d.vpi
			case "DFORM":
				dst = &d.dform
			case "DROUTE":
				dst = &d.droute
			case "CONTROL_INFO":
				dst = &d.control
			case "AMP":
				if depth == 3 {
					dst = &d.amp
				}
			case "VMPP":
				if depth == 3 {
					dst = &d.vmpp
				}
			case "AMPP":
				if depth == 3 {
					dst = &d.ampp
				}
			case "ING":
				dst = &d.ing
			case "INFO":
				if dmdKind(f.base) == "f_lookup2" {
					startLine, _ := dec.InputPos()
					row, err := readFlat(dec)
					depth--
					if err != nil {
						probs.add(f.name, startLine, "%v", err)
						return nil
					}
					if d.lookup[table] == nil {
						d.lookup[table] = map[string]string{}
					}
					d.lookup[table][row["CD"]] = row["DESC"]
					continue
				}
			default:
				if depth == 2 {
					table = name
				}
			}
			if dst != nil {
				startLine, _ := dec.InputPos()
				row, err := readFlat(dec)
				depth--
				if err != nil {
					probs.add(f.name, startLine, "%v", err)
					return nil
				}
				*dst = append(*dst, dmdRow{f: row, file: f.name, line: startLine})
			}
		case xml.EndElement:
			depth--
		}
	}
}

// readFlat reads the leaf children of the element just opened into a map.
func readFlat(dec *xml.Decoder) (map[string]string, error) {
	row := map[string]string{}
	depth := 0
	var field string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("file ends inside a record (truncated)")
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("line %d: %s", se.Line, se.Msg)
			}
			return nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				field = el.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if depth == 1 {
				text.Write(el)
			}
		case xml.EndElement:
			if depth == 0 {
				return row, nil
			}
			if depth == 1 {
				row[field] = strings.TrimSpace(text.String())
			}
			depth--
		}
	}
}

func (d *dmdData) lookupCT(table, cd string) *CodeTerm {
	if cd == "" {
		return nil
	}
	return &CodeTerm{Code: cd, Term: d.lookup[table][cd]}
}

func formatNum(s string) (float64, string) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, s
	}
	return v, strconv.FormatFloat(v, 'f', -1, 64)
}

// release builds the dm+d source: products, and concepts with the AMP→VMP→VTM hierarchy.
func (d *dmdData) release() *release {
	b, products, counts := d.collect()
	return dmdBuild(b, products, counts)
}

func dmdBuild(b *builder, products map[string]*Product, counts map[string]int) *release {
	rel := b.build(SourceDMD, SourceInfo{System: SystemDMD, Counts: counts,
		Licence:     "Open Government Licence v3.0 (NHSBSA dm+d, via TRUD)",
		Attribution: "Contains dm+d data from the NHS Business Services Authority, licensed under the Open Government Licence v3.0."})
	rel.products = products
	return rel
}

func (d *dmdData) collect() (*builder, map[string]*Product, map[string]int) {
	b := newBuilder()
	products := map[string]*Product{}
	ingName := map[string]string{}
	for _, r := range d.ing {
		ingName[r.f["ISID"]] = r.f["NM"]
	}
	unit := func(cd string) string {
		if u := d.lookup["UNIT_OF_MEASURE"][cd]; u != "" {
			return u
		}
		return cd
	}
	addPrev := func(prev, cur, kind string) {
		if prev == "" || prev == cur {
			return
		}
		if _, exists := b.recs[prev]; exists && b.recs[prev].Active {
			return
		}
		r := b.concept(prev)
		r.Active = false
		r.Kind = kind
		r.Assoc = append(r.Assoc, assoc{Type: "900000000000526001", Target: cur})
	}
	invalid := func(row dmdRow) bool { return row.f["INVALID"] == "1" }
	for _, r := range d.vtm {
		code := r.f["VTMID"]
		c := b.concept(code)
		c.PT, c.Kind, c.Active = r.f["NM"], "VTM", !invalid(r)
		b.addSynonym(code, r.f["ABBREVNM"])
		b.refsets[dmdRefsets["VTM"]] = append(b.refsets[dmdRefsets["VTM"]], code)
		products[code] = &Product{Code: code, Kind: "VTM", Name: r.f["NM"], Invalid: invalid(r), Source: "dm+d XML", IngredientsVerified: false,
			Note: "a VTM names a moiety; its ingredients are on its VMPs"}
		if p := r.f["VTMIDPREV"]; p != "" {
			products[code].PreviousCodes = append(products[code].PreviousCodes, p)
		}
	}
	for _, r := range d.vtm {
		addPrev(r.f["VTMIDPREV"], r.f["VTMID"], "VTM")
	}
	vtmName := func(code string) *CodeTerm {
		if code == "" {
			return nil
		}
		return &CodeTerm{Code: code, Term: b.recs[code].PT}
	}
	for _, r := range d.vmp {
		code := r.f["VPID"]
		c := b.concept(code)
		c.PT, c.Kind, c.Active = r.f["NM"], "VMP", !invalid(r)
		b.addSynonym(code, r.f["ABBREVNM"])
		b.refsets[dmdRefsets["VMP"]] = append(b.refsets[dmdRefsets["VMP"]], code)
		p := &Product{Code: code, Kind: "VMP", Name: r.f["NM"], Invalid: invalid(r), Source: "dm+d XML", IngredientsVerified: true,
			UnitDoseSize: r.f["UDFS"], Prescribing: d.lookup["VIRTUAL_PRODUCT_PRES_STATUS"][r.f["PRES_STATCD"]]}
		if v := r.f["VTMID"]; v != "" {
			b.addParent(code, v)
			if _, ok := b.recs[v]; ok {
				p.VTM = vtmName(v)
			} else {
				p.VTM = &CodeTerm{Code: v}
			}
		}
		if u := r.f["UDFS_UOMCD"]; u != "" {
			p.UnitOfMeasure = &CodeTerm{Code: u, Term: unit(u)}
		}
		if u := r.f["UNIT_DOSE_UOMCD"]; u != "" {
			p.UnitDose = &CodeTerm{Code: u, Term: unit(u)}
		}
		if prev := r.f["VPIDPREV"]; prev != "" {
			p.PreviousCodes = append(p.PreviousCodes, prev)
		}
		products[code] = p
	}
	for _, r := range d.vmp {
		addPrev(r.f["VPIDPREV"], r.f["VPID"], "VMP")
	}
	for _, r := range d.vpi {
		p := products[r.f["VPID"]]
		if p == nil {
			continue
		}
		if slices.ContainsFunc(p.Ingredients, func(i Ingredient) bool { return i.Code == r.f["ISID"] }) {
			continue // the same row from a second copy of the file
		}
		ing := Ingredient{Code: r.f["ISID"], Name: ingName[r.f["ISID"]]}
		if bs := r.f["BS_SUBID"]; bs != "" {
			ing.BasisOfStrength = &CodeTerm{Code: bs, Term: ingName[bs]}
		}
		if v := r.f["STRNT_NMRTR_VAL"]; v != "" {
			var txt string
			ing.NumeratorValue, txt = formatNum(v)
			ing.NumeratorUnit = unit(r.f["STRNT_NMRTR_UOMCD"])
			ing.Strength = txt + " " + ing.NumeratorUnit
			if dv := r.f["STRNT_DNMTR_VAL"]; dv != "" {
				var dtxt string
				ing.DenominatorValue, dtxt = formatNum(dv)
				ing.DenominatorUnit = unit(r.f["STRNT_DNMTR_UOMCD"])
				ing.Strength += " / " + dtxt + " " + ing.DenominatorUnit
			}
		}
		p.Ingredients = append(p.Ingredients, ing)
	}
	for _, r := range d.dform {
		if p := products[r.f["VPID"]]; p != nil {
			p.Form = d.lookupCT("FORM", r.f["FORMCD"])
		}
	}
	for _, r := range d.droute {
		if p := products[r.f["VPID"]]; p != nil && !slices.ContainsFunc(p.Routes, func(c CodeTerm) bool { return c.Code == r.f["ROUTECD"] }) {
			p.Routes = append(p.Routes, *d.lookupCT("ROUTE", r.f["ROUTECD"]))
		}
	}
	for _, r := range d.control {
		if p := products[r.f["VPID"]]; p != nil {
			p.Controlled = d.lookupCT("CONTROL_DRUG_CATEGORY", r.f["CATCD"])
		}
	}
	inherit := func(p *Product, from *Product) {
		if from == nil {
			return
		}
		p.VTM, p.Ingredients, p.IngredientsVerified = from.VTM, from.Ingredients, from.IngredientsVerified
		p.Form, p.Routes, p.UnitOfMeasure, p.UnitDose, p.UnitDoseSize, p.Controlled = from.Form, from.Routes, from.UnitOfMeasure, from.UnitDose, from.UnitDoseSize, from.Controlled
		p.Derived, p.Note = from.Derived, from.Note
	}
	for _, r := range d.amp {
		code, vp := r.f["APID"], r.f["VPID"]
		c := b.concept(code)
		c.PT, c.Kind, c.Active = r.f["NM"], "AMP", !invalid(r)
		b.addSynonym(code, r.f["DESC"])
		b.addParent(code, vp)
		b.refsets[dmdRefsets["AMP"]] = append(b.refsets[dmdRefsets["AMP"]], code)
		p := &Product{Code: code, Kind: "AMP", Name: r.f["NM"], Description: r.f["DESC"], Invalid: invalid(r), Source: "dm+d XML"}
		inherit(p, products[vp])
		if v := products[vp]; v != nil {
			p.VMP = &CodeTerm{Code: vp, Term: v.Name}
		} else {
			p.VMP = &CodeTerm{Code: vp}
		}
		products[code] = p
	}
	for _, r := range d.vmpp {
		code, vp := r.f["VPPID"], r.f["VPID"]
		c := b.concept(code)
		c.PT, c.Kind, c.Active = r.f["NM"], "VMPP", !invalid(r)
		b.addParent(code, vp)
		b.refsets[dmdRefsets["VMPP"]] = append(b.refsets[dmdRefsets["VMPP"]], code)
		p := &Product{Code: code, Kind: "VMPP", Name: r.f["NM"], Invalid: invalid(r), Source: "dm+d XML"}
		inherit(p, products[vp])
		p.VMP = &CodeTerm{Code: vp}
		if v := products[vp]; v != nil {
			p.VMP.Term = v.Name
		}
		if q := r.f["QTYVAL"]; q != "" {
			_, qt := formatNum(q)
			p.Quantity = strings.TrimSpace(qt + " " + unit(r.f["QTY_UOMCD"]))
		}
		products[code] = p
	}
	for _, r := range d.ampp {
		code, ap, vpp := r.f["APPID"], r.f["APID"], r.f["VPPID"]
		c := b.concept(code)
		c.PT, c.Kind, c.Active = r.f["NM"], "AMPP", !invalid(r)
		b.addParent(code, ap)
		b.addParent(code, vpp)
		b.refsets[dmdRefsets["AMPP"]] = append(b.refsets[dmdRefsets["AMPP"]], code)
		p := &Product{Code: code, Kind: "AMPP", Name: r.f["NM"], Invalid: invalid(r), Source: "dm+d XML"}
		if a := products[ap]; a != nil {
			inherit(p, a)
			p.AMP = &CodeTerm{Code: ap, Term: a.Name}
			p.VMP = a.VMP
		}
		if v := products[vpp]; v != nil {
			p.VMPP = &CodeTerm{Code: vpp, Term: v.Name}
			p.Quantity = v.Quantity
		}
		products[code] = p
	}
	for _, p := range products {
		if p.Kind == "VMP" && len(p.Ingredients) == 0 {
			// dm+d gives no ingredient rows for some VMPs (devices, some combinations)
			p.IngredientsVerified = false
			if p.Note == "" {
				p.Note = "dm+d lists no ingredients for this product"
			}
		}
		sort.Slice(p.Ingredients, func(i, j int) bool { return p.Ingredients[i].Name < p.Ingredients[j].Name })
	}
	counts := map[string]int{"vtm": len(d.vtm), "vmp": len(d.vmp), "amp": len(d.amp), "vmpp": len(d.vmpp), "ampp": len(d.ampp),
		"ingredients": len(d.ing), "lookupTables": len(d.lookup)}
	// The BNF supplementary file links products to the BNF; the medicines
	// model reads the link when the product is read (medicines.go).
	for _, r := range d.bnf {
		code, bnf := r.f["VPID"], strings.TrimSpace(r.f["BNF"])
		if code == "" {
			code = r.f["APID"]
		}
		if p, ok := products[code]; ok && len(bnf) >= 9 {
			p.BNF = &BNFLink{Presentation: bnf, Substance: CodeTerm{Code: bnf[:9]}, Via: "dm+d BNF file"}
			counts["bnfLinks"]++
		}
	}
	return b, products, counts
}
