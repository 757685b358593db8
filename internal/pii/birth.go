package pii

import (
	"regexp"
	"strings"
)

// A date of birth needs context (生年月日, DOB, 生) because most dates are
// not. A cell that holds nothing but a date of the last century is the
// exception: in a row of a list (a name, a telephone number) it is a date
// of birth in all but name; meeting dates, delivery dates and timestamps
// are recent. People born since 2000 are counted only with context.

var (
	yearLastRe   = regexp.MustCompile(`(?:^|[^\d/.\-])(\d{1,2})[/.\-](\d{1,2})[/.\-]((?:19|20)\d\d)(?:$|[^\d/.\-])`)
	oldSeirekiRe = regexp.MustCompile(`^(19\d\d)\s?[/.\-年]\s?(\d{1,2})\s?[/.\-月]\s?(\d{1,2})\s?日?$`)
	oldWarekiRe  = regexp.MustCompile(`^(明治|大正|昭和|平成|[MTSH])\s?(元|\d{1,2})\s?[/.\-年]\s?(\d{1,2})\s?[/.\-月]\s?(\d{1,2})\s?日?$`)
)

// bareOldDate returns the masked date if the cell c (normalised) is only
// a date before 2000, written in the Western calendar or an era (平成 up
// to its 11th year).
func bareOldDate(c string) string {
	if len(c) < 6 || len(c) > 28 {
		return ""
	}
	switch c[0] {
	case '1':
		if m := oldSeirekiRe.FindStringSubmatch(c); m != nil && validMonthDay(m[2], m[3]) {
			return "19**年**月**日"
		}
	case 'M', 'T', 'S', 'H', 0xE5, 0xE6: // 明治, 大正, 昭和 and 平成 start with E5 or E6
		if m := oldWarekiRe.FindStringSubmatch(c); m != nil && validMonthDay(m[3], m[4]) {
			if (m[1] == "平成" || m[1] == "H") && m[2] != "元" && atoi(m[2]) > 11 {
				return ""
			}
			return m[1] + "**年**月**日"
		}
	}
	return ""
}

func validMonthDay(mo, d string) bool {
	m, n := atoi(mo), atoi(d)
	return m >= 1 && m <= 12 && n >= 1 && n <= 31
}

// yearLastDate finds a date written day (or month) first and the year
// last, as in English forms (DOB 02/03/1970), and returns it masked.
func yearLastDate(c string) string {
	if !strings.ContainsAny(c, "/.-") {
		return ""
	}
	m := yearLastRe.FindStringSubmatch(c)
	if m == nil {
		return ""
	}
	a, b := atoi(m[1]), atoi(m[2])
	if a < 1 || b < 1 || a > 31 || b > 31 || a > 12 && b > 12 {
		return ""
	}
	return m[3][:2] + "**年**月**日"
}
