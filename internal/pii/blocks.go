package pii

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/egressguard/egressguard/internal/textnorm"
)

// Forms and the lists made of them put one field on a line:
//
//	氏名：山田 太郎
//	生年月日：昭和45年3月2日
//	電話番号：090-1234-5678
//
// Each line holds one identifier, so none is a record by itself. In text
// (not tables), consecutive lines of the form "label: value" are
// therefore read as one row, a block; a label seen again in the block (the
// next person's 氏名), a line without a label, or the end of the text
// ends it. A block of several lines is a person's only with a name in
// it: the fields of a venue or an office (会場：…, 電話：…) are not.

// maxBlock bounds the lines of one block.
const maxBlock = 16

// inBlock takes a line of text into the pending block if it is a labelled
// field, and reports whether it did; any other line ends the block.
func (sc *Scanner) inBlock(line string) bool {
	label, ok := "", false
	if len(line) <= maxCell {
		label, ok = fieldLabel(line)
	}
	if !ok {
		sc.flushBlock()
		return false
	}
	if len(sc.block) >= maxBlock || slices.Contains(sc.blockLabels, label) {
		sc.flushBlock()
	}
	sc.block = append(sc.block, line)
	sc.blockLabels = append(sc.blockLabels, label)
	return true
}

// flushBlock scans the pending block as one row, each line a cell; a
// name's label stands for a column name: "お名前：百目鬼 ゆ" is a name,
// listed or not, as it would be under a column お名前.
func (sc *Scanner) flushBlock() {
	if len(sc.block) == 0 {
		return
	}
	cells := sc.block
	var header []int8
	for i, l := range sc.blockLabels {
		// Names only: the other kinds are found in the line by the
		// detectors, with the label as context, and a line may hold
		// more than one ("DOB: 1970/3/2 Tel …").
		if k, ok := headerKind(l); ok && k == kName {
			if header == nil {
				header = make([]int8, len(cells))
				for j := range header {
					header[j] = -1
				}
			}
			header[i] = kName
		}
	}
	sc.block, sc.blockLabels = nil, sc.blockLabels[:0]
	saved, savedRows := sc.header, sc.rows
	sc.header, sc.multiBlock = header, len(cells) > 1
	sc.scan(cells, false)
	sc.header, sc.rows, sc.multiBlock = saved, savedRows, false
}

// fieldLabel returns the label of a line "label：value", "label: value" or
// "【label】value" (after quoting marks and bullets), lower-cased: one to
// twelve characters (forty in ASCII) without digits, and a value after
// it.
func fieldLabel(line string) (string, bool) {
	// The label is near the start: only so much is looked at.
	head := line[:min(len(line), 256)]
	if strings.IndexByte(head, ':') < 0 && !strings.Contains(head, "：") && !strings.Contains(head, "【") {
		return "", false // most lines: no label
	}
	s := strings.TrimLeft(head, " \t>　")
	s = strings.TrimLeftFunc(s, func(r rune) bool { return strings.ContainsRune("■□●○◆◇◎・*-※", r) })
	s = strings.TrimLeft(s, " \t　")
	var label string
	var rest int // where the value starts in line
	if after, ok := strings.CutPrefix(s, "【"); ok {
		i := strings.Index(after, "】")
		if i < 0 {
			return "", false
		}
		label, rest = after[:i], len(head)-len(after)+i+len("】")
	} else {
		i := strings.IndexAny(s, ":：")
		if i < 0 || i > 48 {
			return "", false
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		label, rest = s[:i], len(head)-len(s)+i+w
		if strings.HasPrefix(line[rest:], "/") {
			return "", false // a URL
		}
	}
	label = strings.TrimSpace(label)
	n := utf8.RuneCountInString(label)
	if n > 12 && n == len(label) && n <= 40 {
		n = 12 // ASCII: a vCard property with its parameters (TEL;TYPE=CELL)
	}
	if n == 0 || n > 12 || strings.IndexFunc(label, unicode.IsDigit) >= 0 || strings.TrimSpace(line[rest:min(len(line), rest+256)]) == "" {
		return "", false
	}
	return textnorm.Lower(label), true
}
