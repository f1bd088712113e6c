package policy

import (
	"cmp"
	"fmt"
	"strings"
)

// version is a version string as libxmtp 1.9.1 reads it (its
// LibXMTPVersion, in xmtp_mls/src/groups/validated_commit.rs): three
// unsigned 32-bit numbers and an optional suffix. It is not semantic
// versioning: libxmtp 1.11 moved to Rust's semver crate, but every member
// of a group shared with libxmtp 1.9.1 must read a minimum supported
// protocol version as 1.9.1 does, or the members disagree on which commits
// are valid.
type version struct {
	major, minor, patch uint32
	// suffix is what follows the first "-" of the third part, up to a
	// second "-" if any; hasSuffix tells "1.2.3-" (empty suffix) from
	// "1.2.3".
	suffix    string
	hasSuffix bool
}

// parseVersion accepts exactly what libxmtp 1.9.1's LibXMTPVersion::parse
// accepts. The string is split at every "."; there must be three parts.
// The first two parts are numbers; the third is split at every "-", its
// first piece is the patch number and its second, if any, the suffix (any
// further pieces are ignored). A number is what Rust's u32 parser takes:
// ASCII digits, leading zeros allowed, one optional leading "+", at most
// 4294967295. So "01.2.3", "+1.2.3" and "1.2.3-rc1-x" parse, and
// "1.2.3-rc.1" (four parts), "1.2.3+build", "v1.2.3" and " 1.2.3" do not.
func parseVersion(s string) (version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return version{}, &VersionFormatError{Value: s, Reason: "want three dot-separated parts MAJOR.MINOR.PATCH[-SUFFIX]"}
	}
	var v version
	var err error
	if v.major, err = parseU32(s, parts[0]); err != nil {
		return version{}, err
	}
	if v.minor, err = parseU32(s, parts[1]); err != nil {
		return version{}, err
	}
	pieces := strings.Split(parts[2], "-")
	if v.patch, err = parseU32(s, pieces[0]); err != nil {
		return version{}, err
	}
	if len(pieces) > 1 {
		v.suffix, v.hasSuffix = pieces[1], true
	}
	return v, nil
}

// parseU32 parses n as Rust's u32::from_str does: an optional "+" and
// then one or more ASCII digits whose value fits in 32 bits.
func parseU32(s, n string) (uint32, error) {
	digits := strings.TrimPrefix(n, "+")
	if digits == "" {
		return 0, &VersionFormatError{Value: s, Reason: fmt.Sprintf("%q is not a number", n)}
	}
	var v uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, &VersionFormatError{Value: s, Reason: fmt.Sprintf("%q is not a number", n)}
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<32-1 {
			return 0, &VersionFormatError{Value: s, Reason: fmt.Sprintf("%q is over 4294967295", n)}
		}
	}
	return uint32(v), nil
}

// compare orders versions as libxmtp 1.9.1's derived ordering does:
// major, minor and patch numerically, then the suffix, where no suffix
// sorts before any suffix (so "1.0.0" < "1.0.0-alpha", the reverse of
// semantic versioning) and suffixes compare byte by byte.
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
	case v.hasSuffix != w.hasSuffix:
		if v.hasSuffix {
			return 1
		}
		return -1
	case !v.hasSuffix:
		return 0
	}
	return strings.Compare(v.suffix, w.suffix)
}

// CompareVersions compares two versions as libxmtp 1.9.1 does (see
// [CheckMinVersion]): "01.2.3" equals "1.2.3", "1.2.3" < "1.2.3-rc1" <
// "1.2.3-rc2" < "1.2.4". It returns -1, 0 or +1, or a
// *[VersionFormatError] if either does not parse ("1.2.3-rc.1" and
// "1.2.3+build" do not).
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
// Versions are read and ordered as libxmtp 1.9.1 reads and orders them,
// which is not semantic versioning (see [CompareVersions]).
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
