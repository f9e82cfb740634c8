package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Caption limits.
const (
	MaxCaption  = 2200
	MaxTags     = 30
	MaxMedia    = 10
	maxTagBytes = 100
)

// ParseCaption returns the hashtags (case-folded, deduplicated, in order
// of appearance) and the @mentioned usernames (lower-case, deduplicated)
// of a caption or comment. Tags are Unicode letters, digits and '_';
// usernames follow the username rules.
func ParseCaption(text string) (tags, mentions []string) {
	seenT, seenM := map[string]bool{}, map[string]bool{}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if (r == '#' || r == '@') && (i == 0 || !isWordRune(lastRune(text[:i]))) {
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if r == '#' && !isWordRune(r2) || r == '@' && !isNameByte(r2) {
					break
				}
				j += s2
			}
			word := text[i+size : j]
			if r == '@' {
				word = strings.TrimRight(word, ".")
			}
			if word != "" {
				w := strings.ToLower(word)
				switch {
				case r == '#' && !seenT[w] && len(w) <= maxTagBytes && !isAllDigits(w):
					seenT[w] = true
					tags = append(tags, w)
				case r == '@' && !seenM[w] && len(w) <= MaxUsername:
					seenM[w] = true
					mentions = append(mentions, w)
				}
			}
			i = j
			continue
		}
		i += size
	}
	return tags, mentions
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.Is(unicode.Mn, r)
}

func isNameByte(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.'
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

func isAllDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// checkText validates a caption or comment's length and tag count.
func checkText(field, text string, max int) (string, error) {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > max {
		return "", Invalid(field, "This text has more than %d characters.", max)
	}
	if !utf8.ValidString(text) {
		return "", Invalid(field, "This text is not valid UTF-8.")
	}
	return text, nil
}

// mentionable returns, for the usernames mentioned in text, the IDs of
// the accounts that exist and that author may mention (not themself, no
// block either way). Commands with a caption or comment carry it, resolved
// by prepare before they reach their partition.
func (s *Store) mentionable(author ID, text string) (map[string]ID, error) {
	_, names := ParseCaption(text)
	if len(names) == 0 {
		return nil, nil
	}
	out := map[string]ID{}
	err := s.view(func(tx *Tx) error {
		for _, n := range names {
			id, err := s.lookupUsername(n)
			if err != nil || id == author || tx.blocked(author, id) {
				continue
			}
			out[n] = id
		}
		return nil
	})
	return out, err
}

// mentions returns the IDs of the mentioned names that prepare resolved,
// in the order they appear, without repeats.
func mentions(names []string, resolved map[string]ID) []ID {
	var ids []ID
	for _, n := range names {
		if id, ok := resolved[n]; ok && !containsID(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
