package commands

import (
	"strings"
	"unicode/utf8"
)

// suggest returns the canonical name of the command in cmds closest to
// word (by name or alias), or "" when none is close.
func suggest(cmds []*Command, word string) string {
	var names, canon []string
	for _, c := range cmds {
		names, canon = append(names, c.Name), append(canon, c.Name)
		for _, a := range c.Aliases {
			names, canon = append(names, a), append(canon, c.Name)
		}
	}
	if i := closestIndex(names, canon, strings.ToLower(word)); i >= 0 {
		return canon[i]
	}
	return ""
}

// closest returns the candidate nearest to word, or "" when none is close
// (see closestIndex).
func closest(candidates []string, word string) string {
	if i := closestIndex(candidates, candidates, word); i >= 0 {
		return candidates[i]
	}
	return ""
}

// closestIndex returns the index of the candidate nearest to word: the one
// within a small edit distance (1 for words of up to 4 letters, else 2), or
// else the one that word is a prefix of, if they all have the same key
// (names of one command share a key). Ties go to the earlier candidate. It
// returns -1 when nothing is close.
func closestIndex(candidates, keys []string, word string) int {
	n := utf8.RuneCountInString(word)
	if n == 0 || n > 64 {
		return -1
	}
	limit := 2
	if n <= 4 {
		limit = 1
	}
	best, bestDist := -1, limit+1
	for i, c := range candidates {
		if d := editDistance(word, c); d < bestDist {
			best, bestDist = i, d
		}
	}
	if best >= 0 || n < 2 {
		return best
	}
	for i, c := range candidates {
		if !strings.HasPrefix(c, word) {
			continue
		}
		if best >= 0 && keys[best] != keys[i] {
			return -1
		}
		if best < 0 {
			best = i
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counted in
// runes, with adjacent transpositions counting one (so "hlep" is one edit
// from "help").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
