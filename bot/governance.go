package bot

import (
	"context"

	"mlsbridge/client"
	"mlsbridge/identity"
	"mlsbridge/policy"
)

// The group operations below are optional capabilities of *client.Group,
// found by type assertion, so that the bot builds whatever the client
// offers: an action whose method the client lacks answers "not supported"
// (commands.NotSupportedError) instead of failing to compile. Each
// interface states the signature the bot expects; TestGroupCapabilities
// reports which ones *client.Group has.

// adminEditor changes the admin lists (client/governance.go).
type adminEditor interface {
	AddAdmin(ctx context.Context, inbox identity.InboxID) error
	RemoveAdmin(ctx context.Context, inbox identity.InboxID) error
}

// superAdminEditor changes the super-admin list (client/governance.go).
type superAdminEditor interface {
	AddSuperAdmin(ctx context.Context, inbox identity.InboxID) error
	RemoveSuperAdmin(ctx context.Context, inbox identity.InboxID) error
}

// attributeEditor sets one mutable-metadata attribute (client/metadata.go).
type attributeEditor interface {
	UpdateAttribute(ctx context.Context, field policy.MetadataField, value string) error
}

// permissionEditor replaces one permission policy (client/governance.go).
type permissionEditor interface {
	UpdatePermissionPolicy(ctx context.Context, t policy.PermissionUpdateType, b policy.BasePolicy, field policy.MetadataField) error
}

// disappearingEditor sets the disappearing-message settings
// (client/metadata.go).
type disappearingEditor interface {
	UpdateDisappearingSettings(ctx context.Context, fromNs, inNs int64) error
	RemoveDisappearingSettings(ctx context.Context) error
}

// messageDeleter deletes a message for everyone (client/deletion.go,
// xmtp-groups §8).
type messageDeleter interface {
	DeleteMessage(ctx context.Context, id client.MessageID) (client.MessageID, error)
}

// reactor sends a reaction (client/enriched.go, xmtp-groups §8).
type reactor interface {
	SendReaction(ctx context.Context, r *client.Reaction) (client.MessageID, error)
}

// pendingLister lists the members who asked to leave and have not left
// (client/leave.go, xmtp-groups §7).
type pendingLister interface {
	PendingRemovals(ctx context.Context) ([]identity.InboxID, error)
}

// groupCapabilities reports which capabilities g has, by name, for
// TestGroupCapabilities and the bot's start-up log.
func groupCapabilities(g any) map[string]bool {
	_, admin := g.(adminEditor)
	_, super := g.(superAdminEditor)
	_, attr := g.(attributeEditor)
	_, perm := g.(permissionEditor)
	_, dis := g.(disappearingEditor)
	_, del := g.(messageDeleter)
	_, react := g.(reactor)
	_, pending := g.(pendingLister)
	return map[string]bool{"admins": admin, "super_admins": super, "metadata": attr, "permissions": perm,
		"disappearing": dis, "delete_message": del, "react": react, "pending_removals": pending}
}
