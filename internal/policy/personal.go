package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/egressguard/egressguard/internal/message"
	"github.com/egressguard/egressguard/internal/pii"
	"github.com/egressguard/egressguard/internal/verdict"
)

// compilePersonalConds compiles the personal-data conditions: each is a
// count, met at that many or more (personal_records = 100 means 100 or
// more distinct person records in the message).
func compilePersonalConds(spec RuleSpec, key string, probs *problems, r *rule) {
	count := func(v *int, name, hint string, get func(*message.Facts) int, say func(*eval) string) {
		if v == nil {
			return
		}
		n := *v
		if n < 1 {
			probs.add(key+"."+name, fmt.Sprintf("%d is not a count of 1 or more", n), hint)
			return
		}
		r.conds = append(r.conds, cond{costFact,
			func(ev *eval) bool { return get(ev.f) >= n },
			say})
	}
	switch {
	case spec.PersonalRecords != nil:
		r.personal = func(ev *eval) string { return personalEvidence(ev.f) }
	case spec.MyNumber != nil:
		r.personal = func(ev *eval) string { return numberEvidence(ev.f, pii.MyNumber, ev.f.MyNumbers) }
	case spec.CardNumbers != nil:
		r.personal = func(ev *eval) string { return numberEvidence(ev.f, pii.Card, ev.f.CardNumbers) }
	}
	count(spec.PersonalRecords, "personal_records", "e.g. 100: the rule matches at 100 or more person records",
		func(f *message.Facts) int { return f.PersonalRecords },
		func(ev *eval) string { return personalEvidence(ev.f) })
	count(spec.MyNumber, "my_number", "1: the rule matches at any valid My Number",
		func(f *message.Facts) int { return f.MyNumbers },
		func(ev *eval) string { return numberEvidence(ev.f, pii.MyNumber, ev.f.MyNumbers) })
	count(spec.CardNumbers, "card_numbers", "1: the rule matches at any valid card number",
		func(f *message.Facts) int { return f.CardNumbers },
		func(ev *eval) string { return numberEvidence(ev.f, pii.Card, ev.f.CardNumbers) })
}

// thousands writes n with thousands separators: 9,683.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fileLabel(p *message.Personal) string {
	if p.File != "" {
		return p.File
	}
	return "本文/body (part " + partName(p.Part) + ")"
}

// personalEvidence names the file with the most person records, the count
// and the kinds of identifier, in Japanese and English:
// 患者一覧.xlsx (Sheet1): 9,683 件の個人レコード（氏名・電話番号・生年月日）.
func personalEvidence(f *message.Facts) string {
	var top *message.Personal
	files := 0
	for i := range f.Personal {
		p := &f.Personal[i]
		if p.Records == 0 {
			continue
		}
		files++
		if top == nil || p.Records > top.Records {
			top = p
		}
	}
	if top == nil {
		return thousands(f.PersonalRecords) + " 件の個人レコード / person records"
	}
	var ja, en []string
	for _, k := range top.KindsInRecords() {
		ja = append(ja, pii.LabelJA[k])
		en = append(en, pii.LabelEN[k])
	}
	s := fmt.Sprintf("%s: %s 件の個人レコード（%s）", fileLabel(top), thousands(top.Records), strings.Join(ja, "・"))
	e := fmt.Sprintf("%s person records (%s)", thousands(top.Records), strings.Join(en, ", "))
	if files > 1 {
		s += fmt.Sprintf("、ほか %d ファイル（計 %s 件）", files-1, thousands(f.PersonalRecords))
		e += fmt.Sprintf(", and %d more files (%s in all)", files-1, thousands(f.PersonalRecords))
	}
	return s + " / " + e
}

// numberEvidence names where valid My Numbers or card numbers are.
func numberEvidence(f *message.Facts, k pii.Kind, total int) string {
	var where []string
	ctx := false
	for i := range f.Personal {
		p := &f.Personal[i]
		if p.Found[k] == 0 {
			continue
		}
		ctx = ctx || p.MyNumberContext
		if len(where) < 3 {
			where = append(where, fileLabel(p))
		}
	}
	s := fmt.Sprintf("%s: %d 件の%s / %d valid %s", strings.Join(where, ", "), total, pii.LabelJA[k], total, pii.LabelEN[k])
	if k == pii.MyNumber && ctx {
		s += "（「個人番号」「マイナンバー」の記載あり / labelled as My Number）"
	}
	return s
}

// personalSummary is the verdict's account of personal data, nil if there
// is none that counts (records, My Numbers, card numbers).
func personalSummary(f *message.Facts) *verdict.PersonalEvidence {
	if f.PersonalRecords == 0 && f.MyNumbers == 0 && f.CardNumbers == 0 {
		return nil
	}
	pe := &verdict.PersonalEvidence{Records: f.PersonalRecords, MyNumbers: f.MyNumbers, CardNumbers: f.CardNumbers}
	for i := range f.Personal {
		p := &f.Personal[i]
		if p.Records == 0 && p.MyNumbers == 0 && p.Cards == 0 {
			continue
		}
		if len(pe.Files) == maxPersonalFiles {
			break
		}
		pf := verdict.PersonalFile{Part: p.Part, File: p.File, Records: p.Records, MyNumbers: p.MyNumbers, Cards: p.Cards}
		for _, k := range p.KindsInRecords() {
			pf.Kinds = append(pf.Kinds, string(k))
		}
		pe.Files = append(pe.Files, pf)
	}
	return pe
}
