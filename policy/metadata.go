package policy

import (
	"slices"
	"strings"

	"mlsbridge/identity"
)

// MetadataField is the key of a mutable-metadata attribute (xmtp-groups
// §2.4), and the key of the matching entry in a [PolicySet]'s
// UpdateMetadata map. Any non-empty string is a valid key; the constants
// below are the ones libxmtp knows. Keys are stored in groups and are
// permanent.
type MetadataField string

// The attribute keys libxmtp defines (xmtp-groups §2.4).
const (
	FieldGroupName                       MetadataField = "group_name"
	FieldDescription                     MetadataField = "description"
	FieldGroupImageURLSquare             MetadataField = "group_image_url_square"
	FieldMessageDisappearFromNS          MetadataField = "message_disappear_from_ns"
	FieldMessageDisappearInNS            MetadataField = "message_disappear_in_ns"
	FieldMinimumSupportedProtocolVersion MetadataField = "minimum_supported_protocol_version"
	FieldAppData                         MetadataField = "app_data"
	// FieldCommitLogSigner holds the commit-log signing key. Its "_" prefix
	// makes it super-admin-only when no policy names it.
	FieldCommitLogSigner MetadataField = "_commit_log_signer"
	// FieldGroupPinnedFrameURL was removed from libxmtp in February 2025;
	// older groups may still carry it. It gets no policy in any preset.
	FieldGroupPinnedFrameURL MetadataField = "group_pinned_frame_url"
)

// SuperAdminPrefix starts the keys that, lacking an explicit policy, only
// super admins may change (libxmtp's SUPER_ADMIN_METADATA_PREFIX,
// xmtp-groups §3.4).
const SuperAdminPrefix = "_"

// Length limits in bytes (not characters) for the four limited attributes
// (xmtp-groups §2.4). Senders and receivers both enforce them.
const (
	MaxGroupNameLength     = 100
	MaxDescriptionLength   = 1000
	MaxGroupImageURLLength = 2048
	MaxAppDataLength       = 8192
)

// SupportedFields returns libxmtp's "supported fields", the attributes the
// presets give explicit policies, in libxmtp's order (xmtp-groups §2.4).
// The caller owns the returned slice.
func SupportedFields() []MetadataField {
	return []MetadataField{
		FieldGroupName,
		FieldDescription,
		FieldGroupImageURLSquare,
		FieldMessageDisappearFromNS,
		FieldMessageDisappearInNS,
		FieldMinimumSupportedProtocolVersion,
		FieldAppData,
	}
}

// MaxLength returns the byte limit on f's value, and false when f has none.
func (f MetadataField) MaxLength() (int, bool) {
	switch f {
	case FieldGroupName:
		return MaxGroupNameLength, true
	case FieldDescription:
		return MaxDescriptionLength, true
	case FieldGroupImageURLSquare:
		return MaxGroupImageURLLength, true
	case FieldAppData:
		return MaxAppDataLength, true
	}
	return 0, false
}

// FallbackPolicy returns the policy libxmtp applies to f when the policy
// set has no entry for it (xmtp-groups §3.4): super-admin-only for keys
// starting with [SuperAdminPrefix], admin-only for every other key.
func (f MetadataField) FallbackPolicy() MetadataPolicy {
	if strings.HasPrefix(string(f), SuperAdminPrefix) {
		return NewMetadataPolicy(AllowIfSuperAdmin)
	}
	return NewMetadataPolicy(AllowIfAdmin)
}

// FieldChange is one attribute whose value a commit changes. Old and New
// are nil when the attribute is absent before or after.
type FieldChange struct {
	Field    MetadataField
	Old, New *string
}

// MetadataChange is what a commit changes in the mutable metadata: the
// attributes and the two admin lists. The zero value changes nothing.
type MetadataChange struct {
	Fields             []FieldChange
	AdminsAdded        []identity.InboxID
	AdminsRemoved      []identity.InboxID
	SuperAdminsAdded   []identity.InboxID
	SuperAdminsRemoved []identity.InboxID
}

// IsEmpty reports whether c changes nothing.
func (c MetadataChange) IsEmpty() bool {
	return len(c.Fields) == 0 && len(c.AdminsAdded) == 0 && len(c.AdminsRemoved) == 0 &&
		len(c.SuperAdminsAdded) == 0 && len(c.SuperAdminsRemoved) == 0
}

// DiffMetadata computes the change from before to after as libxmtp's
// commit validator does (xmtp-groups §4 step 3): every key in either map
// whose value or presence differs, sorted by key, and the set differences
// of the admin lists, in list order without repeats.
func DiffMetadata(before, after Metadata) MetadataChange {
	var c MetadataChange
	keys := make([]MetadataField, 0, len(before.Attributes)+len(after.Attributes))
	for k := range before.Attributes {
		keys = append(keys, k)
	}
	for k := range after.Attributes {
		if _, ok := before.Attributes[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		o, hadOld := before.Attributes[k]
		n, hasNew := after.Attributes[k]
		if hadOld == hasNew && o == n {
			continue
		}
		fc := FieldChange{Field: k}
		if hadOld {
			fc.Old = &o
		}
		if hasNew {
			fc.New = &n
		}
		c.Fields = append(c.Fields, fc)
	}
	c.AdminsAdded = listMinus(after.Admins, before.Admins)
	c.AdminsRemoved = listMinus(before.Admins, after.Admins)
	c.SuperAdminsAdded = listMinus(after.SuperAdmins, before.SuperAdmins)
	c.SuperAdminsRemoved = listMinus(before.SuperAdmins, after.SuperAdmins)
	return c
}

// listMinus returns the entries of a not in b, in a's order, each once.
func listMinus(a, b []identity.InboxID) []identity.InboxID {
	var out []identity.InboxID
	for _, id := range a {
		if !slices.Contains(b, id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// superAdminsAfter returns the super-admin list after c, each entry once.
func (c MetadataChange) superAdminsAfter(before []identity.InboxID) []identity.InboxID {
	var out []identity.InboxID
	for _, id := range before {
		if !slices.Contains(c.SuperAdminsRemoved, id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, id := range c.SuperAdminsAdded {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// sortedFields returns m's keys in byte order.
func sortedFields[V any](m map[MetadataField]V) []MetadataField {
	keys := make([]MetadataField, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
