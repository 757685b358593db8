package pii

// twelveDigits finds the numbers in c (normalised) written the way My
// Numbers are: twelve digits in one run, or three groups of four joined by
// single hyphens (1234-5678-9012) or single spaces (1234 5678 9012). The
// number must stand alone: no letter right before or after it, not the
// tail of a code ("A-123456789012", "req_123456789012"), and the spaced
// form not part of a longer spaced run (a card number 4111 1111 1111
// 1111). Other groupings are not My Numbers: "8-1-13 38893829" is a block
// number and an ID, "25 090-6219-3439" a day and a phone number. It
// returns the numbers whose check digit is valid, and how many others of
// that shape there were.
func twelveDigits(c string) (valid []string, invalid int) {
	check := func(d string) {
		if ValidMyNumber(d) {
			valid = append(valid, d)
		} else if len(d) == 12 {
			invalid++
		}
	}
	// The previous tokens of a run joined by single spaces, each a lone
	// group of four digits: [start, end) of each.
	var spaced [][2]int
	spacedOK := true // the run so far is all lone groups of four
	flushSpaced := func() {
		if spacedOK && len(spaced) == 3 {
			d := c[spaced[0][0]:spaced[0][1]] + c[spaced[1][0]:spaced[1][1]] + c[spaced[2][0]:spaced[2][1]]
			check(d)
		}
		spaced, spacedOK = spaced[:0], true
	}
	prevEnd := -1
	for i := 0; i < len(c); {
		if !isDigitB(c[i]) {
			i++
			continue
		}
		// A token: digits with single hyphens between them.
		start := i
		var groups [4]int
		ng, many := 0, false
		j := i
		for {
			k := j
			for k < len(c) && isDigitB(c[k]) {
				k++
			}
			if ng < len(groups) {
				groups[ng] = k - j
				ng++
			} else {
				many = true
			}
			if k+1 < len(c) && c[k] == '-' && isDigitB(c[k+1]) {
				j = k + 1
				continue
			}
			j = k
			break
		}
		i = j
		alone := !(start > 0 && isLetterB(c[start-1])) &&
			!(start > 1 && (c[start-1] == '-' || c[start-1] == '_') && isAlnumB(c[start-2])) &&
			!(j < len(c) && isLetterB(c[j]))
		lone4 := alone && ng == 1 && groups[0] == 4
		if prevEnd >= 0 && start == prevEnd+1 && c[prevEnd] == ' ' {
			// Joined to the token before by one space.
			if !lone4 {
				spacedOK = false
			}
			spaced = append(spaced, [2]int{start, j})
		} else {
			flushSpaced()
			spaced = append(spaced, [2]int{start, j})
			spacedOK = lone4
		}
		prevEnd = j
		if !alone || many {
			continue
		}
		switch {
		case ng == 1 && groups[0] == 12:
			check(c[start:j])
		case ng == 3 && groups[0] == 4 && groups[1] == 4 && groups[2] == 4:
			check(c[start:start+4] + c[start+5:start+9] + c[start+10:j])
		}
	}
	flushSpaced()
	return valid, invalid
}

// chanceMyNumbers: the valid My Numbers of a file without any My Number
// context are far outnumbered by twelve-digit numbers of the same shape
// that fail the check digit. Order, tracking and account numbers pass it
// one time in eleven by chance; a list of real My Numbers has no invalid
// ones but a typo or two.
func (sc *Scanner) chanceMyNumbers() bool {
	return !sc.sum.MyNumberContext && sc.badTwelve >= 3 && sc.badTwelve >= 2*len(sc.myNums)
}
