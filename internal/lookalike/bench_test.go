package lookalike

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// bigIndex is the providers plus n made-up correspondent domains, the
// size of a large organisation's history.
func bigIndex(n int) *Index {
	r := rand.New(rand.NewPCG(1, 2))
	ds := ProviderDomains(nil)
	suffixes := []string{"co.jp", "com", "jp", "ne.jp", "or.jp", "net", "ac.jp"}
	for i := 0; i < n; i++ {
		l := 4 + r.IntN(14)
		b := make([]byte, l)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		ds = append(ds, Domain{fmt.Sprintf("%s.%s", b, suffixes[r.IntN(len(suffixes))]), Correspondent})
	}
	return New(ds)
}

var benchDomains = []string{
	"gmail.com", "gmial.com", "example-partner.co.jp", "mail.sub.example.net",
	"xn--gmil-63d.com", "mitsubishi-elecrtic.co.jp", "docomo.ne.jp", "unrelated-company.jp",
}

// BenchmarkLookup is the cost per recipient.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{0, 10000} {
		ix := bigIndex(n)
		b.Run(fmt.Sprintf("correspondents=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				Lookup(benchDomains[i%len(benchDomains)], ix)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		bigIndex(10000)
	}
}
