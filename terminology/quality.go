package terminology

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Code picker quality: judged GP queries, each with the concepts a clinician accepts as
// the right answer, scored the way a GP feels the picker (`gpsoc bench codes-quality`).

// Query classes of a judged set.
var QueryClasses = []string{"full term", "prefix", "shorthand", "typo", "colloquial"}

// JudgedQuery is one line of a judged set: query, picker, acceptable codes, class.
type JudgedQuery struct {
	Query      string   `json:"query"`
	Picker     string   `json:"picker"` // problem, consultation, drug, all
	Acceptable []string `json:"acceptable"`
	Class      string   `json:"class"`
	Line       int      `json:"line"`
}

// ParseJudged reads a judged set: tab-separated query, picker, acceptable codes (space
// separated), class; blank lines and lines starting with # are skipped. Every bad line is
// reported by number.
func ParseJudged(r io.Reader, name string) ([]JudgedQuery, error) {
	sc := bufio.NewScanner(r)
	var out []JudgedQuery
	var probs problems
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 4 {
			probs.add(name, line, "want 4 tab-separated columns (query, picker, acceptable codes, class), got %d", len(f))
			continue
		}
		q := JudgedQuery{Query: strings.TrimSpace(f[0]), Picker: strings.TrimSpace(f[1]), Acceptable: strings.Fields(f[2]), Class: strings.TrimSpace(f[3]), Line: line}
		if q.Picker == "all" {
			q.Picker = PickerAny
		}
		switch {
		case q.Query == "":
			probs.add(name, line, "query: empty")
		case !ValidPicker(q.Picker):
			probs.add(name, line, "picker %q: must be problem, consultation, drug or all", f[1])
		case len(q.Acceptable) == 0:
			probs.add(name, line, "acceptable codes: none given")
		case !validClass(q.Class):
			probs.add(name, line, "class %q: must be one of %s", q.Class, strings.Join(QueryClasses, ", "))
		default:
			out = append(out, q)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if probs.total > 0 {
		return nil, &RowsError{Rows: probs.rows, Total: probs.total, What: "judged set"}
	}
	return out, nil
}

func validClass(c string) bool {
	for _, k := range QueryClasses {
		if k == c {
			return true
		}
	}
	return false
}

// QualityScore is top-1, top-3 and mean reciprocal rank (of the first acceptable code in
// the top 20) over a set of queries.
type QualityScore struct {
	Queries int     `json:"queries"`
	Top1    float64 `json:"top1"`
	Top3    float64 `json:"top3"`
	MRR     float64 `json:"mrr"`
}

// QualityMiss is a query whose first acceptable code was not first.
type QualityMiss struct {
	JudgedQuery
	Rank int      `json:"rank"` // 0: not in the top 20
	Got  []string `json:"got"`  // the top 3 as "code term"
}

// QualityReport is `gpsoc bench codes-quality`.
type QualityReport struct {
	Overall QualityScore            `json:"overall"`
	ByClass map[string]QualityScore `json:"byClass"`
	Misses  []QualityMiss           `json:"misses"`
}

// RunQuality searches each judged query as its picker does and scores the ranks.
func (t *Terminology) RunQuality(ctx context.Context, qs []JudgedQuery) (QualityReport, error) {
	type acc struct {
		n, top1, top3 int
		rr            float64
	}
	all := acc{}
	by := map[string]*acc{}
	var rep QualityReport
	for _, q := range qs {
		o := SearchOptions{Picker: q.Picker, Limit: 20}
		if q.Picker == PickerDrug {
			o.System = "dmd"
		}
		rs, err := t.Search(ctx, q.Query, o)
		if err != nil {
			return rep, fmt.Errorf("line %d %q: %w", q.Line, q.Query, err)
		}
		ok := map[string]bool{}
		for _, c := range q.Acceptable {
			ok[c] = true
		}
		rank := 0
		for i, r := range rs {
			if ok[r.Code] {
				rank = i + 1
				break
			}
		}
		a := by[q.Class]
		if a == nil {
			a = &acc{}
			by[q.Class] = a
		}
		for _, x := range []*acc{&all, a} {
			x.n++
			if rank == 1 {
				x.top1++
			}
			if rank >= 1 && rank <= 3 {
				x.top3++
			}
			if rank > 0 {
				x.rr += 1 / float64(rank)
			}
		}
		if rank != 1 {
			m := QualityMiss{JudgedQuery: q, Rank: rank}
			for i := 0; i < len(rs) && i < 3; i++ {
				m.Got = append(m.Got, rs[i].Code+" "+rs[i].Term)
			}
			rep.Misses = append(rep.Misses, m)
		}
	}
	score := func(a acc) QualityScore {
		if a.n == 0 {
			return QualityScore{}
		}
		n := float64(a.n)
		return QualityScore{Queries: a.n, Top1: float64(a.top1) / n, Top3: float64(a.top3) / n, MRR: a.rr / n}
	}
	rep.Overall = score(all)
	rep.ByClass = map[string]QualityScore{}
	for _, c := range QueryClasses {
		if a := by[c]; a != nil {
			rep.ByClass[c] = score(*a)
		} else {
			rep.ByClass[c] = QualityScore{}
		}
	}
	sort.SliceStable(rep.Misses, func(i, j int) bool { return rep.Misses[i].Line < rep.Misses[j].Line })
	return rep, nil
}
