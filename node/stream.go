package node

import (
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mlsbridge/storage"
)

// follower streams one subscription: the backlog of each topic after its
// cursor, then live items, each item at most once and in id order per
// topic (spec §2.11 SubscribeGroupMessages).
type follower[T any] struct {
	hub *hub[T]
	// page returns the items of topic with ids above after, ascending, at
	// most storage.MaxPageSize of them.
	page func(ctx context.Context, topic string, after uint64) ([]item[T], error)
	// send writes one item to the client; it may block.
	send func(T) error
	// buf is the live queue length.
	buf int
	// stopping is closed when the node shuts down.
	stopping <-chan struct{}
}

// follow runs until ctx ends, the node stops or sending fails. cursors maps
// each topic to the id after which to start. The subscription is
// registered before the backlog is read, and every item is checked against
// the topic's high-water mark, so nothing committed after the call starts
// is missed and nothing is sent twice.
func (f *follower[T]) follow(ctx context.Context, cursors map[string]uint64) error {
	topics := make([]string, 0, len(cursors))
	for t := range cursors {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	sub := f.hub.subscribe(topics, f.buf)
	defer f.hub.unsubscribe(sub)
	sent := make(map[string]uint64, len(cursors))
	for t, c := range cursors {
		sent[t] = c
	}
	if err := f.catchUp(ctx, topics, sent); err != nil {
		return err
	}
	for {
		select {
		case it := <-sub.ch:
			if err := f.deliver(it, sent); err != nil {
				return err
			}
			continue
		default:
		}
		// The queue is empty: everything queued before an overflow has been
		// delivered, so the rest comes from the database.
		if sub.lagged.Load() {
			sub.lagged.Store(false)
			if err := f.catchUp(ctx, topics, sent); err != nil {
				return err
			}
			continue
		}
		select {
		case it := <-sub.ch:
			if err := f.deliver(it, sent); err != nil {
				return err
			}
		case <-sub.lag:
		case <-ctx.Done():
			return nil
		case <-f.stopping:
			return status.Error(codes.Unavailable, "node is shutting down; resubscribe with your last cursor")
		}
	}
}

func (f *follower[T]) deliver(it item[T], sent map[string]uint64) error {
	if it.id <= sent[it.topic] {
		return nil
	}
	if err := f.send(it.value); err != nil {
		return err
	}
	sent[it.topic] = it.id
	return nil
}

// catchUp sends every stored item above each topic's high-water mark.
func (f *follower[T]) catchUp(ctx context.Context, topics []string, sent map[string]uint64) error {
	for _, t := range topics {
		for {
			items, err := f.page(ctx, t, sent[t])
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return status.Errorf(codes.Internal, "read backlog: %v", err)
			}
			for _, it := range items {
				if err := f.deliver(it, sent); err != nil {
					return err
				}
			}
			if len(items) < storage.MaxPageSize {
				break
			}
		}
	}
	return nil
}
