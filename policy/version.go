package policy

import (
	"cmp"
	"strings"
)

// version is a semantic version as Rust's semver crate parses it, which is
// what libxmtp compares minimum supported protocol versions with.
type version struct {
	major, minor, patch uint64
	pre, build          string
}

// parseVersion accepts exactly what semver::Version::parse accepts:
// MAJOR.MINOR.PATCH without leading zeros, then optionally "-" and dot-separated
// pre-release identifiers ([0-9A-Za-z-], numeric ones without leading
// zeros), then optionally "+" and build identifiers ([0-9A-Za-z-]). No
// "v" prefix and no spaces.
func parseVersion(s string) (version, error) {
	var v version
	if s == "" {
		return v, &VersionFormatError{Value: s, Reason: "empty string"}
	}
	rest := s
	for i, dst := range []*uint64{&v.major, &v.minor, &v.patch} {
		n, r, err := parseNumber(s, rest)
		if err != nil {
			return version{}, err
		}
		*dst, rest = n, r
		if i < 2 {
			if !strings.HasPrefix(rest, ".") {
				return version{}, &VersionFormatError{Value: s, Reason: "want MAJOR.MINOR.PATCH"}
			}
			rest = rest[1:]
		}
	}
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		id, r, err := parseIdentifiers(s, r, true)
		if err != nil {
			return version{}, err
		}
		v.pre, rest = id, r
	}
	if r, ok := strings.CutPrefix(rest, "+"); ok {
		id, r, err := parseIdentifiers(s, r, false)
		if err != nil {
			return version{}, err
		}
		v.build, rest = id, r
	}
	if rest != "" {
		return version{}, &VersionFormatError{Value: s, Reason: "unexpected character " + rest[:1]}
	}
	return v, nil
}

func parseNumber(s, rest string) (uint64, string, error) {
	i := 0
	var n uint64
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		if i == 1 && rest[0] == '0' {
			return 0, "", &VersionFormatError{Value: s, Reason: "leading zero"}
		}
		d := uint64(rest[i] - '0')
		if n > (1<<64-1-d)/10 {
			return 0, "", &VersionFormatError{Value: s, Reason: "number too large"}
		}
		n = n*10 + d
		i++
	}
	if i == 0 {
		return 0, "", &VersionFormatError{Value: s, Reason: "want a number"}
	}
	return n, rest[i:], nil
}

// parseIdentifiers reads dot-separated identifiers up to the first byte
// that cannot be part of one. Pre-release numeric identifiers may not have
// leading zeros.
func parseIdentifiers(s, rest string, pre bool) (string, string, error) {
	end := 0
	for end < len(rest) {
		c := rest[end]
		if c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			end++
			continue
		}
		break
	}
	ids := rest[:end]
	for _, id := range strings.Split(ids, ".") {
		if id == "" {
			return "", "", &VersionFormatError{Value: s, Reason: "empty identifier"}
		}
		if pre && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return "", "", &VersionFormatError{Value: s, Reason: "leading zero"}
		}
	}
	return ids, rest[end:], nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compare orders versions as the semver crate's Ord: numbers, then
// pre-release (a release sorts after its pre-releases), then build
// metadata (which semver 2.0 says to ignore, but the crate orders by).
func (v version) compare(w version) int {
	if c := cmp.Compare(v.major, w.major); c != 0 {
		return c
	}
	if c := cmp.Compare(v.minor, w.minor); c != 0 {
		return c
	}
	if c := cmp.Compare(v.patch, w.patch); c != 0 {
		return c
	}
	switch {
	case v.pre == w.pre:
	case v.pre == "":
		return 1
	case w.pre == "":
		return -1
	default:
		if c := compareIdentifiers(v.pre, w.pre, comparePreNumeric); c != 0 {
			return c
		}
	}
	return compareIdentifiers(v.build, w.build, compareBuildNumeric)
}

// compareIdentifiers compares dot-separated identifier lists: numeric
// identifiers with num, numeric before alphanumeric, alphanumeric in ASCII
// order, and a longer list after its prefix.
func compareIdentifiers(a, b string, num func(x, y string) int) int {
	if a == b {
		return 0
	}
	if a == "" || b == "" {
		return cmp.Compare(len(a), len(b))
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i, x := range as {
		if i >= len(bs) {
			return 1
		}
		y := bs[i]
		var c int
		switch dx, dy := allDigits(x), allDigits(y); {
		case dx && dy:
			c = num(x, y)
		case dx:
			return -1
		case dy:
			return 1
		default:
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	if len(as) < len(bs) {
		return -1
	}
	return 0
}

// comparePreNumeric compares numeric pre-release identifiers, which have
// no leading zeros, by length and then digits.
func comparePreNumeric(x, y string) int {
	return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y))
}

// compareBuildNumeric compares numeric build identifiers, which may have
// leading zeros, as the semver crate does: by value, then by length.
func compareBuildNumeric(x, y string) int {
	tx, ty := strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
	return cmp.Or(cmp.Compare(len(tx), len(ty)), strings.Compare(tx, ty), cmp.Compare(len(x), len(y)))
}

// CompareVersions compares two versions as libxmtp does (semantic
// versioning as Rust's semver crate orders it: "1.6.0-rc.1" < "1.6.0").
// It returns -1, 0 or +1, or a *[VersionFormatError] if either does not
// parse.
func CompareVersions(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.compare(vb), nil
}

// CheckMinVersion applies xmtp-groups §4 step 15 after [Evaluate] allowed a
// commit. min is the group's minimum_supported_protocol_version after the
// commit: the new metadata's value when the commit changes the mutable
// metadata, else the current one; when the attribute is absent there is no
// floor and the caller skips this check. own is this client's version.
//
// It returns nil when own ≥ min; a *[VersionTooLowError] when min is
// higher (the group pauses, the commit is not invalid); a
// *[VersionFormatError] when min does not parse (the commit is invalid).
func CheckMinVersion(min, own string) error {
	vm, err := parseVersion(min)
	if err != nil {
		return err
	}
	vo, err := parseVersion(own)
	if err != nil {
		return err
	}
	if vm.compare(vo) > 0 {
		return &VersionTooLowError{Min: min, Own: own}
	}
	return nil
}
