package node

import (
	"sync"
	"sync/atomic"
)

// hub fans stored items out to live subscriptions, by topic (a group id or
// an installation key). Publishing never blocks: a subscription whose
// buffer is full is marked lagged and gets nothing more until it has
// caught up from the database (see follow), so a slow reader never loses
// an item and never stalls writers.
//
// Callers serialize publish calls per hub and publish in id order, after
// the items are committed; subscribe must happen before the subscriber
// reads its backlog. Together these give streams without gaps or
// duplicates.
type hub[T any] struct {
	mu     sync.RWMutex
	topics map[string]map[*subscription[T]]struct{}
}

// item is one stored value with its topic and id.
type item[T any] struct {
	topic string
	id    uint64
	value T
}

// subscription is one live subscriber's queue.
type subscription[T any] struct {
	topics []string
	ch     chan item[T]
	// lagged is set by the publisher when ch overflowed; from then on the
	// publisher skips this subscription until the subscriber clears it.
	lagged atomic.Bool
	// lag wakes the subscriber when lagged was set.
	lag chan struct{}
}

func newHub[T any]() *hub[T] {
	return &hub[T]{topics: make(map[string]map[*subscription[T]]struct{})}
}

// subscribe registers a subscription for topics with a queue of buf items.
func (h *hub[T]) subscribe(topics []string, buf int) *subscription[T] {
	s := &subscription[T]{topics: topics, ch: make(chan item[T], buf), lag: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range topics {
		subs := h.topics[t]
		if subs == nil {
			subs = make(map[*subscription[T]]struct{})
			h.topics[t] = subs
		}
		subs[s] = struct{}{}
	}
	return s
}

// unsubscribe removes s; it gets nothing more.
func (h *hub[T]) unsubscribe(s *subscription[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range s.topics {
		subs := h.topics[t]
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.topics, t)
		}
	}
}

// publish offers items, in order, to every subscription of their topics.
func (h *hub[T]) publish(items []item[T]) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, it := range items {
		for s := range h.topics[it.topic] {
			if s.lagged.Load() {
				continue
			}
			select {
			case s.ch <- it:
			default:
				s.lagged.Store(true)
				select {
				case s.lag <- struct{}{}:
				default:
				}
			}
		}
	}
}
