package pii

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// validWith returns a valid My Number that starts with prefix.
func validWith(prefix string) string {
	for x := 0; ; x++ {
		d := prefix + fmt.Sprintf("%0*d", 12-len(prefix), x)
		if ValidMyNumber(d) {
			return d
		}
	}
}

// TestMyNumberShapes: only twelve digits together or in groups of four are
// My Numbers; numbers that happen to add up to twelve digits are not.
func TestMyNumberShapes(t *testing.T) {
	t.Parallel()
	v := validWith("8113")
	w := validWith("2509")
	tests := []struct {
		line string
		want int
	}{
		{"個人番号 " + v, 1},
		{"個人番号 " + v[:4] + "-" + v[4:8] + "-" + v[8:], 1},
		{"個人番号 " + v[:4] + " " + v[4:8] + " " + v[8:], 1},
		{"個人番号：" + v + " 電話 03-1234-5678", 1},
		// A block number and an insurance number, a day and a phone.
		{"梅田8-1-13 " + v[4:], 0},
		{"1940/8/" + w[:2] + " " + w[2:5] + "-" + w[5:9] + "-" + w[9:], 0},
		{"個人番号 " + v[:3] + "-" + v[3:7] + "-" + v[7:], 0},
		// Part of a card number, or the tail of a code.
		{v[:4] + " " + v[4:8] + " " + v[8:] + " 1111", 0},
		{"1111 " + v[:4] + " " + v[4:8] + " " + v[8:], 0},
		{"[req-" + v + "]", 0},
		{"ID_" + v, 0},
		{"A" + v, 0},
	}
	for _, tt := range tests {
		if s := Scan([][]string{{tt.line}}, false); s.MyNumbers != tt.want {
			t.Errorf("%q: %d My Numbers, want %d", tt.line, s.MyNumbers, tt.want)
		}
	}
}

// TestChanceMyNumbers: in a list of order numbers about one in eleven
// passes the check digit; without My Number context they are not counted.
// Under a 個人番号 column, or with all numbers valid, they are.
func TestChanceMyNumbers(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	orders := [][]string{{"番号", "金額", "日付"}}
	for range 200 {
		orders = append(orders, []string{fmt.Sprintf("%012d", r.Int64N(1e12)), "12,000", "2025/3/2"})
	}
	s := Scan(orders, true)
	if s.MyNumbers != 0 || s.Found[MyNumber] != 0 {
		t.Errorf("order numbers: %d My Numbers, found %d", s.MyNumbers, s.Found[MyNumber])
	}
	for _, smp := range s.Samples {
		if smp.Kind == MyNumber {
			t.Errorf("sample %v", smp)
		}
	}
	orders[0][0] = "個人番号"
	if s := Scan(orders, true); s.MyNumbers == 0 {
		t.Error("under a 個人番号 column: no My Numbers")
	}
	var list [][]string
	for i := range 20 {
		list = append(list, []string{validWith(fmt.Sprintf("%04d", 1000+i))})
	}
	list = append(list, []string{"123456789017"}) // one typo
	if s := Scan(list, true); s.MyNumbers != 20 {
		t.Errorf("bare list of valid numbers: %d My Numbers", s.MyNumbers)
	}
}

// TestJANIsNoCard: 13-digit JAN codes pass the Luhn check one time in
// ten; 13-digit Visa numbers are not issued any more.
func TestJANIsNoCard(t *testing.T) {
	t.Parallel()
	for x := 0; x < 100; x++ {
		d := fmt.Sprintf("49%011d", 12345678+x*7919)
		if s := Scan([][]string{{"JAN " + d}}, false); s.Cards != 0 {
			t.Fatalf("%s counted as a card", d)
		}
	}
	if s := Scan([][]string{{"4111 1111 1111 1111"}}, false); s.Cards != 1 {
		t.Error("16-digit Visa not counted")
	}
}
