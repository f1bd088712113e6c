package client

import (
	"context"
	"fmt"
	"sync"

	"mlsbridge/identity"
	"mlsbridge/wire/identityapi"
)

// identityCache keeps the verified identity logs of the inboxes this client
// has looked at. Logs only grow and sequence ids are never reused (spec
// §3.3), so a cached prefix stays true and only later updates are fetched.
// It lives in memory; a reopened client starts empty.
type identityCache struct {
	mu   sync.Mutex
	logs map[identity.InboxID][]*identity.VerifiedUpdate
}

// cached returns the cached log of inbox (shared; callers must not modify
// it) and its last sequence id.
func (ic *identityCache) cached(inbox identity.InboxID) ([]*identity.VerifiedUpdate, uint64) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	l := ic.logs[inbox]
	if len(l) == 0 {
		return nil, 0
	}
	return l, l[len(l)-1].SequenceID()
}

// extend appends updates after the cached log's end, ignoring those already
// cached (a concurrent fetch may have added them), and returns the log.
func (ic *identityCache) extend(inbox identity.InboxID, ups []*identity.VerifiedUpdate) []*identity.VerifiedUpdate {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.logs == nil {
		ic.logs = map[identity.InboxID][]*identity.VerifiedUpdate{}
	}
	l := ic.logs[inbox]
	for _, u := range ups {
		if len(l) == 0 || u.SequenceID() > l[len(l)-1].SequenceID() {
			l = append(l, u)
		}
	}
	ic.logs[inbox] = l
	return l
}

// identityLogs returns the verified identity logs of inboxes as the node
// has them now, fetching (in batches of 50) only the updates after what is
// cached. An update that fails verification fails the call. Inboxes with
// no updates are absent.
func (c *Client) identityLogs(ctx context.Context, inboxes []identity.InboxID) (map[identity.InboxID][]*identity.VerifiedUpdate, error) {
	return c.identityLogsAtLeast(ctx, inboxes, nil)
}

// identityLogsAtLeast is identityLogs, but an inbox whose cached log
// already reaches need[inbox] (when need is not nil) is not fetched.
func (c *Client) identityLogsAtLeast(ctx context.Context, inboxes []identity.InboxID, need map[identity.InboxID]uint64) (map[identity.InboxID][]*identity.VerifiedUpdate, error) {
	out := make(map[identity.InboxID][]*identity.VerifiedUpdate, len(inboxes))
	var fetch []*identityapi.GetIdentityUpdatesRequest_Request
	seen := map[identity.InboxID]bool{}
	for _, in := range inboxes {
		if seen[in] {
			continue
		}
		seen[in] = true
		l, last := c.ids.cached(in)
		if want, ok := need[in]; need != nil && ok && want > 0 && last >= want {
			out[in] = l
			continue
		}
		fetch = append(fetch, &identityapi.GetIdentityUpdatesRequest_Request{InboxId: string(in), SequenceId: last})
	}
	for start := 0; start < len(fetch); start += maxIdentityRequests {
		req := &identityapi.GetIdentityUpdatesRequest{Requests: fetch[start:min(start+maxIdentityRequests, len(fetch))]}
		resp, err := c.idAPI.GetIdentityUpdates(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("get identity updates: %w", err)
		}
		for _, r := range resp.GetResponses() {
			inbox := identity.InboxID(r.GetInboxId())
			if !seen[inbox] {
				continue
			}
			var ups []*identity.VerifiedUpdate
			for _, l := range r.GetUpdates() {
				u, err := identity.DecodeUpdateLog(l)
				if err != nil {
					return nil, fmt.Errorf("inbox %s update %d: %w", inbox, l.GetSequenceId(), err)
				}
				v, err := u.Verify()
				if err != nil {
					return nil, fmt.Errorf("inbox %s update %d: %w", inbox, l.GetSequenceId(), err)
				}
				ups = append(ups, v)
			}
			if l := c.ids.extend(inbox, ups); len(l) > 0 {
				out[inbox] = l
			}
		}
	}
	for _, r := range fetch {
		in := identity.InboxID(r.GetInboxId())
		if _, ok := out[in]; !ok {
			if l, _ := c.ids.cached(in); len(l) > 0 {
				out[in] = l
			}
		}
	}
	return out, nil
}
