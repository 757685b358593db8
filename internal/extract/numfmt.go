package extract

import (
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// Spreadsheets keep dates as serial numbers (25630 is 1970-03-02) and
// numbers without their leading zeros (9012345678 shown as 09012345678
// through the format "00000000000"); only the cell's number format says
// what people see. The formats of a workbook's cell styles are read so
// that such cells are extracted as they are shown: dates as 1970/3/2, and
// integers in patterns of 0, # and literals as formatted.

// cellFormat is what a cell style's number format makes of a number.
type cellFormat struct {
	date    bool   // the number is a date (and time)
	time    bool   // the format shows the time of day too
	pattern string // an integer pattern such as "000-0000", else ""
}

// maxStyles bounds the cell styles read from one workbook.
const maxStyles = 1 << 16

// xlsxStyles reads the number format of each cell style (cellXfs) from
// xl/styles.xml.
func (s *state) xlsxStyles(name string, b []byte) []cellFormat {
	custom := map[int]string{}
	var ids []int
	inXfs := false
	scanXML(b, func(t *xtok) bool {
		if s.tick(name) {
			return false
		}
		switch t.kind {
		case tokStart:
			switch string(t.name) {
			case "numFmt":
				if id, err := strconv.Atoi(xattr(t.attrs, "numFmtId")); err == nil && len(custom) < maxStyles {
					custom[id] = html.UnescapeString(xattr(t.attrs, "formatCode"))
				}
			case "cellXfs":
				inXfs = !t.self
			case "xf":
				if inXfs && len(ids) < maxStyles {
					id, _ := strconv.Atoi(xattr(t.attrs, "numFmtId"))
					ids = append(ids, id)
				}
			}
		case tokEnd:
			if string(t.name) == "cellXfs" {
				inXfs = false
			}
		}
		return true
	})
	out := make([]cellFormat, len(ids))
	for i, id := range ids {
		code, ok := custom[id]
		if !ok {
			code = builtinFormats[id]
		}
		out[i] = parseNumberFormat(code)
	}
	return out
}

// builtinFormats are the implied formats of Excel that show dates or
// times (ECMA-376 Part 1, 18.8.30, with the Japanese locale's 27–36 and
// 50–58), as format codes parseNumberFormat understands.
var builtinFormats = map[int]string{
	14: "m/d/yyyy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM",
	20: "h:mm", 21: "h:mm:ss", 22: "m/d/yyyy h:mm", 27: "ge.m.d", 28: "ggge年m月d日", 29: "ggge年m月d日",
	30: "m/d/yy", 31: "yyyy年m月d日", 32: "h時mm分", 33: "h時mm分ss秒", 34: "yyyy年m月", 35: "m月d日",
	36: "ge.m.d", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 50: "ge.m.d", 51: "ggge年m月d日",
	52: "yyyy年m月", 53: "m月d日", 54: "ggge年m月d日", 55: "yyyy年m月", 56: "m月d日", 57: "ge.m.d",
	58: "ggge年m月d日",
}

// parseNumberFormat reads the first section of a format code.
func parseNumberFormat(code string) cellFormat {
	if code == "" {
		return cellFormat{}
	}
	// The tokens outside quoted text, escapes and [brackets].
	var tok, lit strings.Builder
	section := code
	for i := 0; i < len(section); i++ {
		c := section[i]
		switch c {
		case ';':
			section = section[:i]
		case '"':
			j := strings.IndexByte(section[i+1:], '"')
			if j < 0 {
				j = len(section) - i - 1
			}
			lit.WriteString(section[i+1 : i+1+j])
			tok.WriteByte('L')
			i += j + 1
		case '\\':
			if i+1 < len(section) {
				tok.WriteByte('L')
				i++
			}
		case '[':
			j := strings.IndexByte(section[i:], ']')
			if j < 0 {
				j = len(section) - i
			}
			i += j
		default:
			tok.WriteByte(c)
		}
	}
	t := strings.ToLower(tok.String())
	if strings.Contains(t, "general") {
		return cellFormat{}
	}
	if strings.ContainsAny(t, "yd") || strings.Contains(t, "ge") || strings.Contains(t, "gg") {
		return cellFormat{date: true, time: strings.ContainsAny(t, "hs")}
	}
	// An integer pattern: digit placeholders and separators only, with a
	// zero placeholder or a literal to be worth applying.
	digits, worth := 0, false
	for i := 0; i < len(section); i++ {
		switch c := section[i]; c {
		case '0':
			digits++
			worth = true
		case '#':
			digits++
		case '-', '(', ')', ' ', '/', '+':
			worth = true
		case '"':
			j := strings.IndexByte(section[i+1:], '"')
			if j < 0 {
				return cellFormat{}
			}
			i += j + 1
			worth = true
		case '\\':
			i++
			worth = true
		case '[':
			j := strings.IndexByte(section[i:], ']')
			if j < 0 {
				return cellFormat{}
			}
			i += j
		default:
			return cellFormat{}
		}
	}
	if digits == 0 || digits > 30 || !worth {
		return cellFormat{}
	}
	return cellFormat{pattern: section}
}

// apply shows the number v (as stored) in the format, or returns v.
func (f cellFormat) apply(v string, date1904 bool) string {
	if !f.date && f.pattern == "" {
		return v
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return v
	}
	if f.date {
		return serialDate(n, date1904, f.time, v)
	}
	if n < 0 || n != math.Trunc(n) || n >= 1e18 {
		return v
	}
	return applyPattern(f.pattern, strconv.FormatInt(int64(n), 10))
}

// serialDate shows a date serial as 2006/1/2 (and 15:04 with time).
func serialDate(n float64, date1904, withTime bool, v string) string {
	if n < 1 || n >= 2958466 { // before 1900-01-01 or after 9999-12-31
		return v
	}
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	switch {
	case date1904:
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	case n < 61:
		// Excel counts a 29 February 1900 that never was.
		base = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	days := math.Floor(n)
	secs := math.Round((n - days) * 86400)
	t := base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second)
	if withTime && secs > 0 {
		return t.Format("2006/1/2 15:04")
	}
	return t.Format("2006/1/2")
}

// applyPattern writes the digits of an integer into a pattern of 0 (a
// digit or a zero), # (a digit if there is one) and literals, from the
// right; digits left over go before the first placeholder.
func applyPattern(pattern, digits string) string {
	out := make([]byte, 0, len(pattern)+len(digits))
	d := len(digits)
	first := strings.IndexAny(pattern, "0#")
	for i := len(pattern) - 1; i >= 0; i-- {
		c := pattern[i]
		switch c {
		case '0', '#':
			switch {
			case d > 0:
				d--
				out = append(out, digits[d])
			case c == '0':
				out = append(out, '0')
			}
			if i == first {
				for d > 0 {
					d--
					out = append(out, digits[d])
				}
			}
		case '"':
			j := strings.LastIndexByte(pattern[:i], '"')
			if j < 0 {
				j = i
			}
			for k := i - 1; k > j; k-- {
				out = append(out, pattern[k])
			}
			i = j
		case '[':
		case ']':
			j := strings.LastIndexByte(pattern[:i], '[')
			if j >= 0 {
				i = j
			}
		default:
			if i > 0 && pattern[i-1] == '\\' {
				out = append(out, c)
				i--
				continue
			}
			out = append(out, c)
		}
	}
	// Reversed byte by byte: literals may be multi-byte UTF-8, so they
	// were written reversed too and come out whole.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}
