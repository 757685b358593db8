package extract

import (
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// textPiece is a string shown at one position: base is its baseline's
// place across the text direction (larger is higher on the page), along
// its start along it, size the font size on the page.
type textPiece struct {
	base, along, size float64
	text              strings.Builder
}

// layoutLine is one baseline's cells, with where each starts.
type layoutLine struct {
	base   float64
	size   float64
	cells  []string
	starts []float64
}

// layoutRows lays the strings of a page out in rows of cells:
//
//   - strings on one baseline (within a third of the font size) are a
//     row, top to bottom, each row left to right;
//   - a string that starts where strings start on other rows too (a
//     column) begins a cell; one that starts elsewhere continues the cell
//     before it (a run in another font, a word placed on its own); on a
//     page where nearly every string is a glyph or two (a writer that
//     places each glyph), a cell ends where the space after a glyph is
//     wider than a character;
//   - on a page whose rows are set apart by more space than the lines
//     inside them (a word processor's table, where long cells wrap), a
//     line right under a row of two cells or more continues the cells
//     it is under.
func layoutRows(pieces []*textPiece) [][]string {
	ps := pieces[:0:0]
	for _, p := range pieces {
		if strings.TrimSpace(p.text.String()) != "" {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].base > ps[j].base })
	var groups [][]*textPiece
	for i := 0; i < len(ps); {
		j := i + 1
		tol := max(1, ps[i].size/3)
		for j < len(ps) && ps[i].base-ps[j].base <= tol {
			j++
		}
		g := ps[i:j]
		sort.SliceStable(g, func(a, b int) bool { return g[a].along < g[b].along })
		groups = append(groups, g)
		i = j
	}
	// Columns: starting positions shared by two rows or more, and by a
	// fifth of the rows of several strings (a position two rows share by
	// chance is no column of a long table).
	seen := map[int]int{}
	multi := 0
	for _, g := range groups {
		if len(g) > 1 {
			multi++
		}
		last := math.MinInt
		for _, p := range g {
			if k := int(math.Round(p.along)); k != last {
				seen[k]++
				last = k
			}
		}
	}
	column := func(x float64) bool {
		k := int(math.Round(x))
		return seen[k-1]+seen[k]+seen[k+1] >= max(2, multi/5)
	}
	// A writer that places every glyph on its own: cells are told by the
	// space between the glyphs instead.
	short := 0
	for _, p := range ps {
		if utf8.RuneCountInString(strings.TrimSpace(p.text.String())) <= 2 {
			short++
		}
	}
	glyphs := short*10 >= len(ps)*7
	lines := make([]layoutLine, 0, len(groups))
	for _, g := range groups {
		l := layoutLine{base: g[0].base, size: g[0].size}
		for k, p := range g {
			t := strings.TrimSpace(p.text.String())
			var gap float64 // in font sizes, after the glyphs before
			if glyphs && k > 0 {
				gap = glyphGap(g[k-1], p)
			}
			if k == 0 || !glyphs && column(p.along) || glyphs && gap > 1.2 {
				l.cells = append(l.cells, t)
				l.starts = append(l.starts, p.along)
				continue
			}
			n := len(l.cells) - 1
			switch {
			case !glyphs:
				l.cells[n] = glue(l.cells[n], t, false)
			case gap < 0.2:
				l.cells[n] += t
			default:
				l.cells[n] += " " + t
			}
		}
		lines = append(lines, l)
	}
	lines = mergeWrapped(lines)
	rows := make([][]string, 0, len(lines))
	for _, l := range lines {
		rows = append(rows, l.cells)
	}
	return rows
}

// glyphGap is the space between where the glyphs of a end and b starts,
// in font sizes. The width of a is estimated: 1 for Japanese, 0.5 for
// half-width kana, 0.85 for wide Latin letters, 0.3 for narrow ones and
// 0.55 for the rest, in font sizes.
func glyphGap(a, b *textPiece) float64 {
	if a.size <= 0 {
		return 0
	}
	w := 0.0
	for _, r := range strings.TrimSpace(a.text.String()) {
		switch {
		case r >= 0xFF61 && r <= 0xFF9F:
			w += 0.5
		case r >= 0x2E80:
			w++
		case strings.ContainsRune("mwMW@%", r):
			w += 0.85
		case strings.ContainsRune("iljtfrI.,:;'!|", r):
			w += 0.3
		default:
			w += 0.55
		}
	}
	return (b.along-a.along)/a.size - w
}

// mergeWrapped joins the continuation lines of wrapped table cells to
// their row (see layoutRows). It acts only on a page where a good part of
// the lines (a fifth, two at least) are rows of several cells after a
// wider gap than the closest lines: there a row starts after a wide gap,
// and a line close under it continues it.
// Evenly spaced lines (a spreadsheet, where cells do not wrap) are left
// alone.
func mergeWrapped(lines []layoutLine) []layoutLine {
	if len(lines) < 3 {
		return lines
	}
	gaps := make([]float64, len(lines))
	minGap := math.Inf(1)
	for i := 1; i < len(lines); i++ {
		gaps[i] = lines[i-1].base - lines[i].base
		if gaps[i] > 0 {
			minGap = min(minGap, gaps[i])
		}
	}
	if math.IsInf(minGap, 1) {
		return lines
	}
	wide := 0 // rows of several cells after a wide gap
	for i, g := range gaps[1:] {
		if g >= 1.3*minGap && len(lines[i+1].cells) >= 2 {
			wide++
		}
	}
	if wide < max(2, (len(lines)-1)/5) {
		return lines
	}
	out := lines[:0:0]
	rowStart := false // the last line kept starts a row
	for i, l := range lines {
		if n := len(out); n > 0 && rowStart && gaps[i] <= 1.1*minGap && len(out[n-1].cells) >= 2 {
			a := &out[n-1]
			if idx, ok := underCells(a.starts, l.starts, l.size); ok {
				for k, c := range l.cells {
					// Two parts under one cell are side by side.
					wrapped := k == 0 || idx[k-1] != idx[k]
					a.cells[idx[k]] = glue(a.cells[idx[k]], c, wrapped)
				}
				continue
			}
		}
		out = append(out, l)
		rowStart = i == 0 || gaps[i] >= 1.3*minGap
	}
	return out
}

// underCells maps each start to the cell of starts above that it lies
// under (the last one starting at or before it).
func underCells(above, starts []float64, size float64) ([]int, bool) {
	tol := max(1, size/3)
	idx := make([]int, len(starts))
	for k, x := range starts {
		j := sort.Search(len(above), func(j int) bool { return above[j] > x+tol }) - 1
		if j < 0 {
			return nil, false
		}
		idx[k] = j
	}
	return idx, true
}

// glue joins two parts of one cell: side by side, with a space unless
// both ends are Japanese; wrapped onto the next line, with nothing
// (Japanese wraps anywhere, and so do e-mail addresses and numbers too
// long for the cell), except between words of Latin text.
func glue(a, b string, wrapped bool) string {
	if a == "" || b == "" {
		return a + b
	}
	ra, _ := utf8.DecodeLastRuneInString(a)
	rb, _ := utf8.DecodeRuneInString(b)
	wide := ra >= 0x2E80 && rb >= 0x2E80
	if wrapped {
		if isLatinLetter(ra) && isLatinLetter(rb) && strings.Contains(a, " ") {
			return a + " " + b
		}
		return a + b
	}
	if wide {
		return a + b
	}
	return a + " " + b
}

func isLatinLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
