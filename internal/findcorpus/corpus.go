package findcorpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"
)

// Synthetic corpora for tests and benchmarks: deterministic for a (size, seed), with the
// skew of real data (a few surnames and given names are very common, a long tail is
// rare), valid Modulus 11 NHS numbers, plausible dates of birth and UK postcodes, and a
// few foreign or missing values. No real person is in them.

var commonSurnames = strings.Fields(`Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson
Roberts Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel
Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen
James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter
Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis
Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins
Murray Dixon Harvey O'Brien O'Connor O'Neill McDonald MacKenzie Smith-Jones Browne Brownlow Smyth
Nowak Kowalski Nguyen Okafor Ahmed Rahman Chowdhury Kaur Sharma Das Costa Silva Müller Zoë`)

var commonGiven = strings.Fields(`Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William
James Leo Alfie Henry Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel
Arthur Lucas Mohammed Logan Theo David John Michael Paul Mark Peter Richard Robert Andrew Stephen
Christopher Anthony Kevin Ian Gary Simon Martin Brian Alan Keith Colin Olivia Amelia Isla Ava Emily
Isabella Mia Poppy Ella Lily Sophia Grace Evie Sophie Jessica Ruby Chloe Charlotte Mary Margaret
Susan Sarah Elizabeth Patricia Jennifer Linda Barbara Helen Karen Julie Janet Joan Jean Dorothy
Anne Christine Claire Emma Rachel Rebecca Hannah Laura Amy Lucy Katie Zara Aisha Fatima Priya Siobhan
Niamh Aoife Seán Dylan Rhys Owen Gareth Bethan Carys Ffion Jo Joanne Jon Jonathan Johnny Joanna`)

var syllables = strings.Fields(`ab ac ad al am an ar as ath ba bar be ben ber bi bo bra bri bur ca car cha
che chi co cor da dal de den der di do dra du el en er fa fe fer fi fo ga gar ge gi go gra ha han har
he hen hi ho hol hu in is ja jo ka ke ki ko la lan le len li lo lu ma man mar me mer mi mo mor na ne
ni no nor o ol on or pa pe per pi po pra ra ran re ri ro ru sa san se sha she si so sta ste ta tan te
ter th ti to tor tre u ul un ur va ve vi vo wa we wi wo ya yo za ze`)

// zipf draws an index in [0, n) with weight 1/(i+1)^s.
type zipf struct{ cum []float64 }

func newZipf(n int, s float64) zipf {
	z := zipf{cum: make([]float64, n)}
	t := 0.0
	for i := range n {
		t += 1 / math.Pow(float64(i+1), s)
		z.cum[i] = t
	}
	return z
}

func (z zipf) draw(r *rand.Rand) int {
	x := r.Float64() * z.cum[len(z.cum)-1]
	lo, hi := 0, len(z.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if z.cum[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// synthWords makes n distinct pronounceable words from syllables.
func synthWords(r *rand.Rand, n, minSyl, maxSyl int) []string {
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		k := minSyl + r.IntN(maxSyl-minSyl+1)
		var b strings.Builder
		for range k {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		w := b.String()
		if len(w) < 3 || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// NHSCheckDigit returns the Modulus 11 check digit of the first nine digits, or -1 when
// there is none (those nine digits cannot start an NHS number).
func NHSCheckDigit(nine string) int {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(nine[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	switch c {
	case 11:
		return 0
	case 10:
		return -1
	}
	return c
}

func randomNHS(r *rand.Rand) string {
	for {
		var b [10]byte
		b[0] = byte('1' + r.IntN(9))
		for i := 1; i < 9; i++ {
			b[i] = byte('0' + r.IntN(10))
		}
		c := NHSCheckDigit(string(b[:9]))
		if c < 0 {
			continue
		}
		b[9] = byte('0' + c)
		return string(b[:])
	}
}

var postcodeAreas = strings.Fields(`LS M B L S BD HX WF HD NE SR DH TS YO HU DN SW SE N E W NW EC WC G EH
CF BS OX CB NG LE DE CV WV WS ST CH CW PR BB BL OL SK WA WN LA CA PL EX TQ TR BH SO PO BN RH TN ME CT
CM CO IP NR PE MK LU AL SG HP SL RG GU KT CR BR DA RM IG EN HA UB TW SM AB DD KY PH IV BT`)

// InwardLetters are the letters a postcode's inward part may use.
const InwardLetters = "ABDEFGHJLNPQRSTUWXYZ"

func randomPostcode(r *rand.Rand, areaZ zipf) string {
	switch x := r.IntN(1000); {
	case x < 15:
		return ""
	case x < 20:
		return fmt.Sprintf("%05d", r.IntN(100000)) // foreign
	case x < 23:
		return fmt.Sprintf("D%02d X%03d", r.IntN(24), r.IntN(1000)) // Irish Eircode-like
	}
	area := postcodeAreas[areaZ.draw(r)]
	return fmt.Sprintf("%s%d %d%c%c", area, 1+r.IntN(28), r.IntN(10), InwardLetters[r.IntN(len(InwardLetters))], InwardLetters[r.IntN(len(InwardLetters))])
}

func uuid7(r *rand.Rand, ms uint64) string {
	var u [16]byte
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	for i := 6; i < 16; i++ {
		u[i] = byte(r.Uint32())
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return uuid.UUID(u).String()
}

// SyntheticPatients returns n synthetic patients, the same for the same n and seed.
func SyntheticPatients(n int, seed int64) []Patient {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	tail := synthWords(r, min(40000, 200+n/25), 2, 4)
	given := synthWords(r, min(4000, 100+n/250), 2, 3)
	famZ := newZipf(len(commonSurnames), 0.8)
	tailZ := newZipf(len(tail), 0.7)
	givZ := newZipf(len(commonGiven), 0.9)
	givTailZ := newZipf(len(given), 0.8)
	areaZ := newZipf(len(postcodeAreas), 0.5)
	start := int64(-16436) // 1925-01-01 in days since 1970
	span := int64(36500)
	ps := make([]Patient, n)
	baseMS := uint64(1_700_000_000_000) + uint64(seed&0xffff)*1000
	for i := range ps {
		var fam string
		if r.IntN(100) < 30 {
			fam = commonSurnames[famZ.draw(r)]
		} else {
			fam = capitalise(tail[tailZ.draw(r)])
			if r.IntN(100) == 0 {
				fam += "-" + commonSurnames[famZ.draw(r)]
			}
		}
		if r.IntN(10) == 0 {
			fam = strings.ToUpper(fam)
		}
		pick := func() string {
			if r.IntN(100) < 75 {
				return commonGiven[givZ.draw(r)]
			}
			return capitalise(given[givTailZ.draw(r)])
		}
		giv := pick()
		if r.IntN(100) < 40 {
			giv += " " + pick()
		}
		days := start + r.Int64N(span)
		y, m, d := civil(days)
		p := Patient{
			ID:        uuid7(r, baseMS+uint64(i)),
			Family:    fam,
			Given:     giv,
			BirthDate: fmt.Sprintf("%04d-%02d-%02d", y, m, d),
			Postcode:  randomPostcode(r, areaZ),
		}
		if r.IntN(100) >= 3 {
			p.NHS = randomNHS(r)
		}
		switch x := r.IntN(100); {
		case x < 8:
			p.Status = 1
		case x < 10:
			p.Status = 2
		}
		ps[i] = p
	}
	return ps
}

// civil converts days since 1970-01-01 to a date (Howard Hinnant's algorithm).
func civil(z int64) (int, int, int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

// Words for synthetic SNOMED-like descriptions.
var (
	termAdjectives = strings.Fields(`acute chronic recurrent congenital primary secondary malignant benign
severe mild moderate bilateral left right traumatic non-traumatic infective allergic idiopathic
hereditary juvenile senile postoperative post-traumatic drug-induced alcoholic diabetic hypertensive
ischaemic haemorrhagic obstructive inflammatory degenerative atypical complicated uncomplicated`)
	termSites = strings.Fields(`heart lung liver kidney brain skin eye ear nose throat stomach colon
rectum bladder prostate breast thyroid pancreas spleen bone joint knee hip shoulder elbow wrist ankle
foot hand spine neck chest abdomen pelvis uterus ovary testis artery vein retina cornea lens tooth
gum tongue oesophagus duodenum ileum gallbladder appendix tendon ligament muscle nerve skull femur
tibia fibula humerus radius ulna clavicle scapula vertebra sacrum coccyx mandible maxilla`)
	termMorph = strings.Fields(`disease disorder infection inflammation fracture dislocation ulcer tumour
neoplasm carcinoma cyst abscess haemorrhage stenosis obstruction failure insufficiency hypertrophy
atrophy necrosis fibrosis calcification laceration contusion sprain strain lesion deformity
malformation dysfunction syndrome pain swelling oedema erosion perforation rupture thrombosis embolism`)
	termProcs = strings.Fields(`excision biopsy repair replacement removal drainage incision aspiration
injection examination imaging ultrasound radiography reconstruction amputation transplantation
fixation manipulation irrigation dressing suture closure debridement endoscopy catheterisation`)
	termFindings = []string{"tenderness of", "swelling of", "pain in", "mass of", "redness of", "numbness of", "weakness of", "stiffness of"}
	termDrugs    = strings.Fields(`amoxicillin metformin atorvastatin simvastatin ramipril amlodipine
lisinopril bisoprolol omeprazole lansoprazole salbutamol beclometasone paracetamol ibuprofen
naproxen codeine morphine sertraline citalopram fluoxetine levothyroxine warfarin apixaban
rivaroxaban clopidogrel aspirin furosemide bendroflumethiazide prednisolone doxycycline
clarithromycin flucloxacillin nitrofurantoin trimethoprim gliclazide sitagliptin insulin
metronidazole cetirizine loratadine tiotropium montelukast gabapentin pregabalin tramadol`)
	termForms  = []string{"tablets", "capsules", "oral solution", "oral suspension", "cream", "ointment", "inhaler", "injection", "eye drops", "patches", "modified-release tablets"}
	termTags   = []string{"disorder", "finding", "procedure", "observable entity", "substance", "body structure", "situation"}
	fixedTerms = []string{
		"Type 2 diabetes mellitus", "Type 1 diabetes mellitus", "Diabetes mellitus",
		"Chronic obstructive pulmonary disease", "Essential hypertension", "Asthma",
		"Atrial fibrillation", "Chronic kidney disease stage 3", "Hypothyroidism",
		"Congestive heart failure", "Myocardial infarction", "Cerebrovascular accident",
		"Gastro-oesophageal reflux disease", "Urinary tract infection", "Low back pain",
		"Crohn's disease", "Blood pressure", "Body mass index", "Haemoglobin A1c level",
		"Estimated glomerular filtration rate", "Smoking status", "Total cholesterol",
	}
)

// SyntheticTerms returns about n SNOMED-shaped descriptions (fully specified name with a
// semantic tag, preferred term, synonyms; a few inactive), the same for the same n and
// seed.
func SyntheticTerms(n int, seed int64) []Term {
	r := rand.New(rand.NewPCG(uint64(seed), 0x243f6a8885a308d3))
	eponyms := synthWords(r, min(30000, 200+n/50), 2, 4)
	organisms := synthWords(r, min(8000, 100+n/200), 3, 4)
	findings, forms, tags := termFindings, termForms, termTags
	adjZ := newZipf(len(termAdjectives), 0.6)
	siteZ := newZipf(len(termSites), 0.5)
	morphZ := newZipf(len(termMorph), 0.6)
	epZ := newZipf(len(eponyms), 0.6)
	out := make([]Term, 0, n+8)
	concept := uint64(100000)
	next := func() string {
		concept += 1 + uint64(r.IntN(97))
		part := "00"
		if r.IntN(4) == 0 {
			part = "10"
		}
		return fmt.Sprintf("%d%s%d", concept, part, r.IntN(10))
	}
	add := func(pt, tag string, syns ...string) {
		code := next()
		active := r.IntN(100) >= 4
		out = append(out, Term{Code: code, Term: pt + " (" + tag + ")", Active: active})
		out = append(out, Term{Code: code, Term: pt, Preferred: true, Active: active})
		for _, s := range syns {
			out = append(out, Term{Code: code, Term: s, Active: active})
		}
	}
	for _, t := range fixedTerms {
		add(t, "disorder")
	}
	add("Type 2 diabetes mellitus", "disorder", "Type II diabetes mellitus", "Non-insulin dependent diabetes mellitus", "T2DM - Type 2 diabetes mellitus")
	add("Chronic obstructive pulmonary disease", "disorder", "COPD - Chronic obstructive pulmonary disease", "Chronic obstructive lung disease")
	for len(out) < n {
		switch x := r.IntN(100); {
		case x < 40:
			adj := termAdjectives[adjZ.draw(r)]
			site := termSites[siteZ.draw(r)]
			morph := termMorph[morphZ.draw(r)]
			pt := capitalise(adj + " " + morph + " of " + site)
			syn := capitalise(adj + " " + site + " " + morph)
			if r.IntN(3) == 0 {
				pt += " due to " + eponyms[epZ.draw(r)] + " " + organisms[r.IntN(len(organisms))]
			}
			add(pt, tags[0], syn)
		case x < 55:
			ep := capitalise(eponyms[epZ.draw(r)])
			pt := ep + "'s " + termMorph[morphZ.draw(r)]
			if r.IntN(2) == 0 {
				pt += " of " + termSites[siteZ.draw(r)]
			}
			add(pt, tags[0], capitalise(eponyms[epZ.draw(r)])+" "+termMorph[morphZ.draw(r)])
		case x < 70:
			proc := termProcs[r.IntN(len(termProcs))]
			pt := capitalise(proc + " of " + termAdjectives[adjZ.draw(r)] + " " + termSites[siteZ.draw(r)])
			add(pt, tags[2], capitalise(termSites[siteZ.draw(r)]+" "+proc))
		case x < 80:
			pt := capitalise(findings[r.IntN(len(findings))] + " " + termSites[siteZ.draw(r)])
			add(pt, tags[1])
		case x < 92:
			drug := termDrugs[r.IntN(len(termDrugs))]
			str := []int{1, 2, 5, 10, 20, 25, 40, 50, 100, 200, 250, 500, 1000}[r.IntN(13)]
			pt := fmt.Sprintf("%s %dmg %s", capitalise(drug), str, forms[r.IntN(len(forms))])
			add(pt, "product", fmt.Sprintf("%s %d mg %s", capitalise(drug), str, forms[r.IntN(len(forms))]))
		default:
			org := capitalise(organisms[r.IntN(len(organisms))])
			add(org+" "+eponyms[epZ.draw(r)]+" infection", tags[0], "Infection caused by "+org)
		}
	}
	return out[:n]
}
