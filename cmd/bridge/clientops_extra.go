package main

import (
	"context"
	"errors"

	"mlsbridge/client"
	"mlsbridge/policy"
)

// Ops of the Go client that the peer has no counterpart for (governance
// operations libxmtp runs in its own workers, or that node-bindings 1.9.1
// does not expose). They follow the peer's conventions: "client", "group",
// "as", ok/error results. The README lists them.
func init() {
	registerClientOps(map[string]opFunc{
		"pendingRemovals":        opPendingRemovals,
		"removePendingMembers":   opRemovePendingMembers,
		"cleanupPendingRemovals": opCleanupPendingRemovals,
		"readdInstallations":     opReaddInstallations,
		"checkForks":             opCheckForks,
		"updateAttribute":        opUpdateAttribute,
		"deleteExpiredMessages":  opDeleteExpiredMessages,
	})
}

// opPendingRemovals: {group, sync?} → {group, inboxes}: the inboxes whose
// leave requests this installation has seen and that are still members.
func opPendingRemovals(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.syncedGroup(ctx, cmd, false)
	if err != nil {
		return nil, err
	}
	ids, err := g.PendingRemovals(ctx)
	if err != nil {
		return nil, err
	}
	return obj{{"group", cmd.Group}, {"inboxes", inboxStrings(ids)}}, nil
}

// opRemovePendingMembers: {group} → {group, removed}: one commit removing
// every member on the pending-removal list (super admins only).
func opRemovePendingMembers(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	before, err := g.PendingRemovals(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := g.RemoveMembersPendingRemoval(ctx); err != nil {
		return nil, err
	}
	return obj{{"group", cmd.Group}, {"removed", inboxStrings(before)}}, nil
}

// opCleanupPendingRemovals: {group} → {group, inboxes}: drops inboxes that
// are no longer members from the list and returns what is left.
func opCleanupPendingRemovals(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if err := g.CleanupPendingRemovalList(ctx); err != nil {
		return nil, err
	}
	ids, err := g.PendingRemovals(ctx)
	if err != nil {
		return nil, err
	}
	return obj{{"group", cmd.Group}, {"inboxes", inboxStrings(ids)}}, nil
}

// opReaddInstallations: {group, installationIds} → {group,
// failedInstallations}: re-adds forked installations (super admins only).
func opReaddInstallations(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var a struct {
		InstallationIDs []string `json:"installationIds"`
	}
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	ids, err := installationIDs(a.InstallationIDs)
	if err != nil {
		return nil, err
	}
	res, err := g.ReaddInstallations(ctx, ids)
	if err != nil {
		return nil, err
	}
	failed := []string{}
	if res != nil {
		for _, id := range res.FailedInstallations {
			failed = append(failed, id.String())
		}
	}
	return obj{{"group", cmd.Group}, {"failedInstallations", failed}}, nil
}

// opCheckForks: {group?} → {commitLog, maybeForked, forked} for group (or
// {} without one): runs one round of the fork check over every group.
func opCheckForks(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	if err := sc.c.CheckForks(ctx); err != nil {
		return nil, err
	}
	if cmd.Group == "" {
		return obj{}, nil
	}
	_, g, err := s.peerGroup(ctx, cmd)
	if err != nil {
		return nil, err
	}
	fs, err := g.ForkState(ctx)
	if err != nil {
		return nil, err
	}
	return obj{{"group", cmd.Group}, {"commitLog", fs.CommitLog.String()}, {"maybeForked", fs.MaybeForked},
		{"forked", fs.Forked()}}, nil
}

// opUpdateAttribute: {group, key, value} → {group, key, value}: sets any
// metadata attribute, custom keys included, under the group's policies.
func opUpdateAttribute(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	var a struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	if err := cmd.decode(&a); err != nil {
		return nil, err
	}
	if a.Key == "" || a.Value == nil {
		return nil, errors.New(`updateAttribute needs "key" and "value"`)
	}
	info, err := changeGroup(ctx, s, cmd, func(g *client.Group) error {
		return g.UpdateAttribute(ctx, policy.MetadataField(a.Key), *a.Value)
	})
	if err != nil {
		return nil, err
	}
	return obj{{"group", cmd.Group}, {"key", a.Key}, {"value", info.Attributes[a.Key]}}, nil
}

// opDeleteExpiredMessages: {} → {deleted}: one disappearing-message sweep
// of this installation's database.
func opDeleteExpiredMessages(ctx context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	n, err := sc.c.DeleteExpiredMessages(ctx)
	if err != nil {
		return nil, err
	}
	return obj{{"deleted", n}}, nil
}
