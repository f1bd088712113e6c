package policy

import (
	"errors"
	"fmt"
	"testing"
)

// The version rules are libxmtp 1.9.1's LibXMTPVersion (parse and derived
// Ord), not semantic versioning.

func TestCompareVersions(t *testing.T) {
	// Each row sorts strictly after the one before it; versions in one row
	// are equal.
	ordered := [][]string{
		{"0.0.0", "00.0.0", "+0.0.0"},
		{"0.9.9"},
		{"1.0.0", "01.0.0", "1.00.0", "1.0.00", "+1.+0.+0"},
		// A suffix sorts after no suffix ("historical reasons", says
		// libxmtp's update_group_min_version), suffixes byte by byte, and
		// only the piece after the first "-" counts.
		{"1.0.0-"},
		{"1.0.0-0"},
		{"1.0.0-10"},
		{"1.0.0-2"},
		{"1.0.0-RC"},
		{"1.0.0-alpha", "1.0.0-alpha-2", "1.0.0-alpha-"},
		{"1.0.0-beta"},
		{"1.0.0-rc1"},
		{"1.0.0-rc2"},
		{"1.0.0-é"},
		{"1.6.0"},
		{"1.6.0-dev"},
		{"1.9.1", "1.9.01"},
		{"1.9.1-rc1"},
		{"1.10.0"},
		{"1.11.0"},
		{"1.11.0-dev"},
		{"2.0.0"},
		{"99.0.0"},
		{"4294967295.0.0"},
	}
	for i, ra := range ordered {
		for j, rb := range ordered {
			want := cmpInt(i, j)
			for _, a := range ra {
				for _, b := range rb {
					got, err := CompareVersions(a, b)
					if err != nil || got != want {
						t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", a, b, got, err, want)
					}
				}
			}
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want version
	}{
		{"1.2.3", true, version{major: 1, minor: 2, patch: 3}},
		{"01.2.3", true, version{major: 1, minor: 2, patch: 3}},
		{"1.02.003", true, version{major: 1, minor: 2, patch: 3}},
		{"+1.+2.+3", true, version{major: 1, minor: 2, patch: 3}},
		{"1.2.3-rc1", true, version{major: 1, minor: 2, patch: 3, suffix: "rc1", hasSuffix: true}},
		{"1.2.3-rc-1", true, version{major: 1, minor: 2, patch: 3, suffix: "rc", hasSuffix: true}},
		{"1.2.3-", true, version{major: 1, minor: 2, patch: 3, hasSuffix: true}},
		{"1.2.3--x", true, version{major: 1, minor: 2, patch: 3, hasSuffix: true}},
		{"1.2.3-a b+c_é", true, version{major: 1, minor: 2, patch: 3, suffix: "a b+c_é", hasSuffix: true}},
		{"4294967295.4294967295.4294967295", true, version{major: 1<<32 - 1, minor: 1<<32 - 1, patch: 1<<32 - 1}},
		{"0000000000001.0.0", true, version{major: 1}},

		{"", false, version{}},
		{"1", false, version{}},
		{"1.2", false, version{}},
		{"1.2.3.4", false, version{}},
		{"1.2.3-rc.1", false, version{}},     // semver pre-release: four parts
		{"1.2.3-rc.1+b.5", false, version{}}, // five parts
		{"1.2.3+b", false, version{}},        // patch "3+b"
		{"1.2.3+001", false, version{}},      // patch "3+001"
		{"v1.2.3", false, version{}},         // "v1"
		{" 1.2.3", false, version{}},         // no spaces
		{"1.2.3 ", false, version{}},         // patch "3 "
		{"1.2.3 -rc", false, version{}},      // patch "3 "
		{"-1.2.3", false, version{}},         // u32 takes no minus
		{"1.-2.3", false, version{}},         // u32 takes no minus
		{"1.2.-3", false, version{}},         // patch ""
		{"1.2.+", false, version{}},          // "+" alone
		{"1.2.++3", false, version{}},        // one "+" only
		{"1..3", false, version{}},           // empty minor
		{".1.2", false, version{}},           // empty major
		{"1.2.", false, version{}},           // empty patch
		{"1.2.-", false, version{}},          // empty patch
		{"4294967296.0.0", false, version{}}, // over u32
		{"1.99999999999999999999.0", false, version{}},
		{"1.2.３", false, version{}}, // not an ASCII digit
		{"one.two.three", false, version{}},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.in)
		if !tt.ok {
			var fe *VersionFormatError
			if !errors.As(err, &fe) || fe.Value != tt.in {
				t.Errorf("parseVersion(%q) = %+v, %v; want a *VersionFormatError", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseVersion(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckMinVersion(t *testing.T) {
	tests := []struct {
		name, min, own string
		want           string // "", "low" or "format"
	}{
		{"equal", "1.9.1", "1.9.1", ""},
		{"equal with leading zeros", "01.09.001", "1.9.1", ""},
		{"older floor", "1.6.0", "1.9.1", ""},
		{"newer floor pauses", "1.12.0", "1.9.1", "low"},
		{"far floor pauses", "99.0.0", "1.9.1", "low"},
		{"suffixed floor above its release", "1.9.1-rc1", "1.9.1", "low"},
		{"release floor below its suffixed version", "1.9.1", "1.9.1-dev", ""},
		{"suffixed floor of an older release", "1.9.0-rc5", "1.9.1", ""},
		{"semver pre-release floor is invalid", "1.9.1-rc.1", "1.9.1", "format"},
		{"semver build floor is invalid", "1.0.0+b", "1.9.1", "format"},
		{"unparseable floor is invalid", "one", "1.9.1", "format"},
		{"empty floor is invalid", "", "1.9.1", "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMinVersion(tt.min, tt.own)
			var low *VersionTooLowError
			var bad *VersionFormatError
			switch {
			case tt.want == "" && err != nil,
				tt.want == "low" && !errors.As(err, &low),
				tt.want == "format" && !errors.As(err, &bad):
				t.Errorf("CheckMinVersion(%q, %q) = %v, want %s", tt.min, tt.own, err, tt.want)
			}
		})
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.9.1", "01.2.3", "1.2.3-rc.1", "1.2.3+b", "+1.2.3-a-b", "4294967296.0.0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseVersion(s)
		if err != nil {
			return
		}
		if v.compare(v) != 0 {
			t.Fatalf("%q does not equal itself", s)
		}
		// A parsed version written back canonically parses to itself.
		back := fmtVersion(v)
		w, err := parseVersion(back)
		if err != nil || w != v {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, v, back, w, err)
		}
	})
}

func fmtVersion(v version) string {
	s := fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
	if v.hasSuffix {
		s += "-" + v.suffix
	}
	return s
}
