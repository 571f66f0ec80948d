package record

import "testing"

// BenchmarkCheckStringsPatient is the text check a bulk import adds per
// patient (budget: the import's ≥ 50,000 patients/s leaves 20 µs each).
func BenchmarkCheckStringsPatient(b *testing.B) {
	p := &Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John", "Paul"}, BirthDate: "1961-03-12", Sex: "male",
		Postcode: "LS6 2QT", Address: &Address{Lines: []string{"1 High Street", "Headingley"}, Town: "Leeds"}, Phone: "0113 496 0000",
		Flags: []string{"carer"}}
	p.RecordedBy, p.Status = "admin", "active"
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckStrings(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPatientValidate(b *testing.B) {
	for b.Loop() {
		p := &Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John", "Paul"}, BirthDate: "1961-03-12", Sex: "male",
			Postcode: "LS6 2QT", Address: &Address{Lines: []string{"1 High Street", "Headingley"}, Town: "Leeds"}, Phone: "0113 496 0000",
			Flags: []string{"carer"}}
		if err := p.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
