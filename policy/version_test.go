package policy

import (
	"errors"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	// Orderings from the semver 2.0 spec and the semver crate's tests.
	ordered := []string{
		"0.9.9",
		"1.0.0-alpha",
		"1.0.0-alpha.1",
		"1.0.0-alpha.beta",
		"1.0.0-beta",
		"1.0.0-beta.2",
		"1.0.0-beta.11",
		"1.0.0-rc.1",
		"1.0.0",
		"1.0.0+0",
		"1.0.0+00",
		"1.0.0+1",
		"1.0.0+01",
		"1.0.0+2",
		"1.0.0+10",
		"1.0.0+a",
		"1.6.0-dev",
		"1.6.0",
		"1.10.0",
		"1.11.0-dev",
		"1.11.0",
		"2.0.0",
		"18446744073709551615.0.0",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			got, err := CompareVersions(a, b)
			if err != nil || got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d", a, b, got, err, want)
			}
		}
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, s := range []string{
		"", "1", "1.2", "1.2.3.4", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", " 1.2.3", "1.2.3 ",
		"1.2.3-", "1.2.3-+b", "1.2.3-a..b", "1.2.3-a.", "1.2.3-.a", "1.2.3-01", "1.2.3+", "1.2.3+a..b",
		"1.2.3-a_b", "1.2.3+é", "18446744073709551616.0.0", "1.2.-3", "-1.2.3",
	} {
		var fe *VersionFormatError
		if _, err := CompareVersions(s, "1.0.0"); !errors.As(err, &fe) {
			t.Errorf("CompareVersions(%q) error = %v, want *VersionFormatError", s, err)
		}
	}
	for _, s := range []string{"0.0.0", "1.2.3-0", "1.2.3-0a", "1.2.3-a-b.-", "1.2.3+001", "1.2.3-rc.1+build.5"} {
		if _, err := CompareVersions(s, "1.0.0"); err != nil {
			t.Errorf("CompareVersions(%q) = %v, want ok", s, err)
		}
	}
}

func TestCheckMinVersion(t *testing.T) {
	tests := []struct {
		name, min, own string
		want           string // "", "low" or "format"
	}{
		{"equal", "1.6.0", "1.6.0", ""},
		{"older floor", "1.6.0", "1.9.1", ""},
		{"newer floor pauses", "1.12.0", "1.9.1", "low"},
		{"pre-release floor below its release", "1.9.1-rc.1", "1.9.1", ""},
		{"release floor above its pre-release", "1.9.1", "1.9.1-dev", "low"},
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
