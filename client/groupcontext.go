package client

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/policy"
	"mlsbridge/wire/content"
	"mlsbridge/wire/prost"
)

// Mutable metadata attribute keys (xmtp-groups.md §2.4).
const (
	AttrGroupName          = "group_name"
	AttrDescription        = "description"
	AttrImageURLSquare     = "group_image_url_square"
	AttrAppData            = "app_data"
	AttrDisappearFromNs    = "message_disappear_from_ns"
	AttrDisappearInNs      = "message_disappear_in_ns"
	AttrMinVersion         = "minimum_supported_protocol_version"
	AttrCommitLogSigner    = "_commit_log_signer"
	maxGroupNameLength     = 100
	maxDescriptionLength   = 1000
	maxImageURLLength      = 2048
	maxAppDataLength       = 8192
	commitLogSignerKeySize = 32
)

// requiredExtensionTypes are the extension types libxmtp groups require of
// every member (xmtp-groups.md §1.3), in libxmtp's order.
var requiredExtensionTypes = []mls.ExtensionType{
	ExtensionGroupMembership, ExtensionMutableMetadata, ExtensionGroupPermissions,
	ExtensionImmutableMetadata, mls.ExtensionTypeLastResort, mls.ExtensionTypeApplicationID,
}

// requiredCapabilities is the RequiredCapabilities extension of a libxmtp
// group: the six extension types, the GroupContextExtensions proposal and
// Basic credentials.
func requiredCapabilities() mls.Extension {
	return mls.RequiredCapabilities{
		ExtensionTypes:  slices.Clone(requiredExtensionTypes),
		ProposalTypes:   []mls.ProposalType{mls.ProposalTypeGroupContextExtensions},
		CredentialTypes: []mls.CredentialType{mls.CredentialTypeBasic},
	}.Extension()
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// ErrInvalidGroup is wrapped by [*GroupContextError].
var ErrInvalidGroup = errors.New("client: invalid group context")

// GroupContextError reports a group whose XMTP GroupContext extensions are
// missing or malformed (a welcome into it is dropped).
type GroupContextError struct {
	Extension mls.ExtensionType
	Reason    string
}

func (e *GroupContextError) Error() string {
	return fmt.Sprintf("client: group context extension 0x%04x: %s", uint16(e.Extension), e.Reason)
}

func (e *GroupContextError) Unwrap() error { return ErrInvalidGroup }

// immutableMetadataExtension encodes GroupMetadataV1 as extension 0xF000:
// the protobuf wrapped in a TLS byte vector, inside the extension's own
// vector (xmtp-groups.md §1.2).
func immutableMetadataExtension(md *content.GroupMetadataV1) (mls.Extension, error) {
	b, err := deterministic.Marshal(md)
	if err != nil {
		return mls.Extension{}, fmt.Errorf("encode group metadata: %w", err)
	}
	var w mls.Writer
	w.Opaque(b)
	if err := w.Err(); err != nil {
		return mls.Extension{}, fmt.Errorf("encode group metadata: %w", err)
	}
	return mls.Extension{Type: ExtensionImmutableMetadata, Data: w.Bytes()}, nil
}

// protoExtension encodes m raw as an extension of type t (0xFF0x).
func protoExtension(t mls.ExtensionType, m proto.Message) (mls.Extension, error) {
	b, err := deterministic.Marshal(m)
	if err != nil {
		return mls.Extension{}, fmt.Errorf("encode extension 0x%04x: %w", uint16(t), err)
	}
	return mls.Extension{Type: t, Data: b}, nil
}

// GroupExtensions is the decoded XMTP state of a group's context.
type GroupExtensions struct {
	Metadata   *content.GroupMetadataV1
	Mutable    *content.GroupMutableMetadataV1
	Membership *content.GroupMembership
	// Policies is the permissions extension as libxmtp decodes it;
	// PermissionsRaw its bytes.
	Policies       policy.PolicySet
	PermissionsRaw []byte
}

func findExt(exts []mls.Extension, t mls.ExtensionType) ([]byte, bool) {
	for _, e := range exts {
		if e.Type == t {
			return e.Data, true
		}
	}
	return nil, false
}

// parseGroupExtensions decodes and checks the four XMTP extensions of a
// group context, with libxmtp's rules: each protobuf decoded as prost
// decodes it (see decodeMembership), all present, a known conversation
// type, DM members set for DMs, admin and super-admin lists present, and
// every PolicySet field present.
func parseGroupExtensions(exts []mls.Extension) (*GroupExtensions, error) {
	var g GroupExtensions
	bad := func(t mls.ExtensionType, format string, args ...any) error {
		return &GroupContextError{Extension: t, Reason: fmt.Sprintf(format, args...)}
	}
	raw, ok := findExt(exts, ExtensionImmutableMetadata)
	if !ok {
		return nil, bad(ExtensionImmutableMetadata, "missing")
	}
	r := mls.NewReader(raw)
	inner := r.Opaque()
	if err := r.Finish(); err != nil {
		return nil, bad(ExtensionImmutableMetadata, "not a byte vector")
	}
	var err error
	if g.Metadata, err = decodeImmutableMetadata(inner); err != nil {
		return nil, bad(ExtensionImmutableMetadata, "malformed protobuf: %v", err)
	}
	switch g.Metadata.GetConversationType() {
	case content.ConversationType_CONVERSATION_TYPE_GROUP, content.ConversationType_CONVERSATION_TYPE_SYNC,
		content.ConversationType_CONVERSATION_TYPE_ONESHOT:
	case content.ConversationType_CONVERSATION_TYPE_DM:
		dm := g.Metadata.GetDmMembers()
		if dm.GetDmMemberOne() == nil || dm.GetDmMemberTwo() == nil {
			return nil, bad(ExtensionImmutableMetadata, "dm without both members")
		}
	default:
		return nil, bad(ExtensionImmutableMetadata, "conversation type %v", g.Metadata.GetConversationType())
	}
	if raw, ok = findExt(exts, ExtensionMutableMetadata); !ok {
		return nil, bad(ExtensionMutableMetadata, "missing")
	}
	if g.Mutable, err = decodeMutableMetadata(raw); err != nil {
		return nil, bad(ExtensionMutableMetadata, "malformed protobuf: %v", err)
	}
	if g.Mutable.AdminList == nil || g.Mutable.SuperAdminList == nil {
		return nil, bad(ExtensionMutableMetadata, "missing metadata field")
	}
	if raw, ok = findExt(exts, ExtensionGroupMembership); !ok {
		return nil, bad(ExtensionGroupMembership, "missing")
	}
	if g.Membership, err = decodeMembership(raw); err != nil {
		return nil, bad(ExtensionGroupMembership, "malformed protobuf: %v", err)
	}
	if raw, ok = findExt(exts, ExtensionGroupPermissions); !ok {
		return nil, bad(ExtensionGroupPermissions, "missing")
	}
	ps, err := policy.Unmarshal(raw)
	if err != nil {
		return nil, bad(ExtensionGroupPermissions, "%v", err)
	}
	g.Policies, g.PermissionsRaw = ps, raw
	return &g, nil
}

// policyState is what policy/ reads of a group (its pre-change state).
func policyState(ext *GroupExtensions) policy.GroupState {
	gs := policy.GroupState{Type: policy.ConversationType(ext.Metadata.GetConversationType()), Policies: ext.Policies,
		Metadata: policyMetadata(ext.Mutable)}
	if dm := ext.Metadata.GetDmMembers(); dm != nil {
		gs.DM = &policy.DMMembers{One: identity.InboxID(dm.GetDmMemberOne().GetInboxId()), Two: identity.InboxID(dm.GetDmMemberTwo().GetInboxId())}
	}
	for in := range ext.Membership.GetMembers() {
		gs.Members = append(gs.Members, identity.InboxID(in))
	}
	slices.Sort(gs.Members)
	return gs
}

// policyMetadata converts mutable metadata for policy/.
func policyMetadata(m *content.GroupMutableMetadataV1) policy.Metadata {
	md := policy.Metadata{Attributes: map[policy.MetadataField]string{},
		Admins: inboxes(m.GetAdminList().GetInboxIds()), SuperAdmins: inboxes(m.GetSuperAdminList().GetInboxIds())}
	for k, v := range m.GetAttributes() {
		md.Attributes[policy.MetadataField(k)] = v
	}
	return md
}

// GroupOptions are the optional settings of a new group. The zero value
// gives an unnamed group with the default ("all members") permissions.
type GroupOptions struct {
	// Name, Description, ImageURLSquare and AppData set the mutable
	// metadata attributes; empty means "". Each is limited in bytes as
	// libxmtp limits it (100, 1000, 2048 and 8192).
	Name           string
	Description    string
	ImageURLSquare string
	AppData        string
	// MessageDisappearing, when set, writes both disappearing-message
	// attributes at creation (xmtp-groups.md §9); nil writes neither.
	MessageDisappearing *DisappearingSettings
	// Permissions, when set, is the new group's policy set (a preset's or
	// a custom one, e.g. from [policy.CustomPolicies]); nil gives
	// [policy.Default]. It must be a set [policy.Marshal] can encode.
	Permissions *policy.PolicySet
}

func (o *GroupOptions) check() error {
	if o.Permissions != nil {
		if _, err := policy.Marshal(*o.Permissions); err != nil {
			return fmt.Errorf("%w: permissions: %w", ErrInvalidArgument, err)
		}
	}
	switch {
	case len(o.Name) > maxGroupNameLength:
		return fmt.Errorf("%w: group name longer than %d bytes", ErrInvalidArgument, maxGroupNameLength)
	case len(o.Description) > maxDescriptionLength:
		return fmt.Errorf("%w: description longer than %d bytes", ErrInvalidArgument, maxDescriptionLength)
	case len(o.ImageURLSquare) > maxImageURLLength:
		return fmt.Errorf("%w: image url longer than %d bytes", ErrInvalidArgument, maxImageURLLength)
	case len(o.AppData) > maxAppDataLength:
		return fmt.Errorf("%w: app data longer than %d bytes", ErrInvalidArgument, maxAppDataLength)
	}
	return nil
}

// newGroupExtensions returns the GroupContext extensions libxmtp writes for
// a new group (xmtp-groups.md §1.3, §2.4), in its order: immutable
// metadata, mutable metadata (creator sole super admin, a fresh commit-log
// signer), membership {creator: 0}, the permissions (opts.Permissions, else
// the default), and the required capabilities.
func newGroupExtensions(rand io.Reader, creator identity.InboxID, opts *GroupOptions) ([]mls.Extension, error) {
	imm, err := immutableMetadataExtension(&content.GroupMetadataV1{
		ConversationType: content.ConversationType_CONVERSATION_TYPE_GROUP,
		CreatorInboxId:   string(creator),
	})
	if err != nil {
		return nil, err
	}
	signer := make([]byte, commitLogSignerKeySize)
	if _, err := io.ReadFull(rand, signer); err != nil {
		return nil, fmt.Errorf("generate commit log signer: %w", err)
	}
	mut, err := protoExtension(ExtensionMutableMetadata, &content.GroupMutableMetadataV1{
		Attributes: withDisappearing(map[string]string{
			AttrGroupName:       opts.Name,
			AttrDescription:     opts.Description,
			AttrImageURLSquare:  opts.ImageURLSquare,
			AttrAppData:         opts.AppData,
			AttrCommitLogSigner: hex.EncodeToString(signer),
		}, opts.MessageDisappearing),
		AdminList:      &content.Inboxes{InboxIds: []string{}},
		SuperAdminList: &content.Inboxes{InboxIds: []string{string(creator)}},
	})
	if err != nil {
		return nil, err
	}
	mem, err := protoExtension(ExtensionGroupMembership, &content.GroupMembership{
		Members: map[string]uint64{string(creator): 0},
	})
	if err != nil {
		return nil, err
	}
	perms := policy.Default()
	if opts.Permissions != nil {
		perms = *opts.Permissions
	}
	permBytes, err := policy.Marshal(perms)
	if err != nil {
		return nil, fmt.Errorf("%w: encode permissions: %w", ErrInternal, err)
	}
	perm := mls.Extension{Type: ExtensionGroupPermissions, Data: permBytes}
	return []mls.Extension{imm, mut, mem, perm, requiredCapabilities()}, nil
}

// withExtension returns exts with the extension of e's type replaced by e
// (appended when absent).
func withExtension(exts []mls.Extension, e mls.Extension) []mls.Extension {
	out := slices.Clone(exts)
	for i := range out {
		if out[i].Type == e.Type {
			out[i] = e
			return out
		}
	}
	return append(out, e)
}

// The group state protobufs are decoded as libxmtp's prost code decodes
// them (package prost): Go's proto.Unmarshal accepts bytes prost refuses
// (a known field with the wrong wire type, nesting past 100 levels), and
// reads a map entry whose key is not length-delimited differently. Every
// member decodes these extensions on every commit, so a Go member that
// accepts what a libxmtp member refuses would fork the group. The field
// numbers are those of xmtp-groups.md §2.

// decodeMembership decodes GroupMembership (0xFF01): members is
// map<string, uint64> 1, failed_installations repeated bytes 2.
func decodeMembership(b []byte) (*content.GroupMembership, error) {
	m := &content.GroupMembership{}
	err := prost.Decode(b, func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		switch num {
		case 1:
			var key string
			var val uint64
			n, err := prost.MapEntry(b, depth, stringInto(&key), func(_ protowire.Number, typ protowire.Type, b []byte, _ int) (int, error) {
				v, n, err := prost.Uint64(typ, b)
				val = v
				return n, err
			})
			if err != nil {
				return 0, err
			}
			if m.Members == nil {
				m.Members = map[string]uint64{}
			}
			m.Members[key] = val
			return n, nil
		case 2:
			v, n, err := prost.Bytes(typ, b)
			if err != nil {
				return 0, err
			}
			m.FailedInstallations = append(m.FailedInstallations, bytes.Clone(v))
			return n, nil
		}
		return prost.Skip(num, typ, b, depth)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// decodeMutableMetadata decodes GroupMutableMetadataV1 (0xFF00):
// attributes map<string, string> 1, admin_list Inboxes 2,
// super_admin_list Inboxes 3 (Inboxes: inbox_ids repeated string 1). A
// list field that appears twice merges, as prost merges a message field.
func decodeMutableMetadata(b []byte) (*content.GroupMutableMetadataV1, error) {
	m := &content.GroupMutableMetadataV1{}
	err := prost.Decode(b, func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		switch num {
		case 1:
			var key, val string
			n, err := prost.MapEntry(b, depth, stringInto(&key), stringInto(&val))
			if err != nil {
				return 0, err
			}
			if m.Attributes == nil {
				m.Attributes = map[string]string{}
			}
			m.Attributes[key] = val
			return n, nil
		case 2, 3:
			list := &m.AdminList
			if num == 3 {
				list = &m.SuperAdminList
			}
			if *list == nil {
				*list = &content.Inboxes{}
			}
			return prost.Message(typ, b, depth, mergeInboxes(*list))
		}
		return prost.Skip(num, typ, b, depth)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// mergeInboxes merges the fields of an Inboxes message into l.
func mergeInboxes(l *content.Inboxes) prost.FieldFunc {
	return func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		if num != 1 {
			return prost.Skip(num, typ, b, depth)
		}
		v, n, err := prost.String(typ, b)
		if err != nil {
			return 0, err
		}
		l.InboxIds = append(l.InboxIds, v)
		return n, nil
	}
}

// mergeInbox merges the fields of an Inbox message (inbox_id string 1)
// into in.
func mergeInbox(in *content.Inbox) prost.FieldFunc {
	return func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		if num != 1 {
			return prost.Skip(num, typ, b, depth)
		}
		return stringInto(&in.InboxId)(num, typ, b, depth)
	}
}

// stringInto returns a FieldFunc that stores a string field in *dst (the
// last occurrence wins).
func stringInto(dst *string) prost.FieldFunc {
	return func(_ protowire.Number, typ protowire.Type, b []byte, _ int) (int, error) {
		v, n, err := prost.String(typ, b)
		if err != nil {
			return 0, err
		}
		*dst = v
		return n, nil
	}
}

// decodeImmutableMetadata decodes GroupMetadataV1 (the protobuf inside
// 0xF000): conversation_type enum 1, creator_account_address string 2,
// creator_inbox_id string 3, dm_members DmMembers 4 (dm_member_one
// Inbox 1, dm_member_two Inbox 2), oneshot_message OneshotMessage 5 (oneof
// readd_request ReaddRequest 1: group_id bytes 1,
// latest_commit_sequence_id uint64 2).
func decodeImmutableMetadata(b []byte) (*content.GroupMetadataV1, error) {
	m := &content.GroupMetadataV1{}
	err := prost.Decode(b, func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		switch num {
		case 1:
			v, n, err := prost.Int32(typ, b)
			m.ConversationType = content.ConversationType(v)
			return n, err
		case 2:
			return stringInto(&m.CreatorAccountAddress)(num, typ, b, depth)
		case 3:
			return stringInto(&m.CreatorInboxId)(num, typ, b, depth)
		case 4:
			if m.DmMembers == nil {
				m.DmMembers = &content.DmMembers{}
			}
			return prost.Message(typ, b, depth, mergeDMMembers(m.DmMembers))
		case 5:
			if m.OneshotMessage == nil {
				m.OneshotMessage = &content.OneshotMessage{}
			}
			return prost.Message(typ, b, depth, mergeOneshot(m.OneshotMessage))
		}
		return prost.Skip(num, typ, b, depth)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func mergeDMMembers(dm *content.DmMembers) prost.FieldFunc {
	return func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		var slot **content.Inbox
		switch num {
		case 1:
			slot = &dm.DmMemberOne
		case 2:
			slot = &dm.DmMemberTwo
		default:
			return prost.Skip(num, typ, b, depth)
		}
		if *slot == nil {
			*slot = &content.Inbox{}
		}
		return prost.Message(typ, b, depth, mergeInbox(*slot))
	}
}

// mergeOneshot merges a OneshotMessage: its only oneof variant,
// readd_request, merges into the one already set (prost's oneof merge).
func mergeOneshot(o *content.OneshotMessage) prost.FieldFunc {
	return func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
		if num != 1 {
			return prost.Skip(num, typ, b, depth)
		}
		v, ok := o.MessageType.(*content.OneshotMessage_ReaddRequest)
		if !ok || v.ReaddRequest == nil {
			v = &content.OneshotMessage_ReaddRequest{ReaddRequest: &content.ReaddRequest{}}
			o.MessageType = v
		}
		r := v.ReaddRequest
		return prost.Message(typ, b, depth, func(num protowire.Number, typ protowire.Type, b []byte, depth int) (int, error) {
			switch num {
			case 1:
				g, n, err := prost.Bytes(typ, b)
				r.GroupId = bytes.Clone(g)
				return n, err
			case 2:
				seq, n, err := prost.Uint64(typ, b)
				r.LatestCommitSequenceId = seq
				return n, err
			}
			return prost.Skip(num, typ, b, depth)
		})
	}
}
