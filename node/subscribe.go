package node

import (
	"context"

	"google.golang.org/grpc"

	"mlsbridge/storage"
	"mlsbridge/wire/mlsapi"
)

// SubscribeGroupMessages sends response headers at once, then each
// filter's backlog after its id_cursor (exclusive, ascending), then live
// messages, never repeating an id (spec §2.11). Zero filters are accepted;
// such a stream stays open and sends nothing. A filter naming a group more
// than once starts from the lowest cursor.
func (s *Server) SubscribeGroupMessages(req *mlsapi.SubscribeGroupMessagesRequest, stream grpc.ServerStreamingServer[mlsapi.GroupMessage]) error {
	cursors := make(map[string]uint64, len(req.GetFilters()))
	for i, f := range req.GetFilters() {
		if len(f.GetGroupId()) == 0 {
			return invalidArgument("filters[%d].group_id is empty", i)
		}
		addCursor(cursors, string(f.GetGroupId()), f.GetIdCursor())
	}
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	s.log.DebugContext(stream.Context(), "group subscription started", "topics", len(cursors))
	f := &follower[storage.GroupMessage]{
		hub: s.group, buf: s.buf, stopping: s.stopping,
		page: func(ctx context.Context, topic string, after uint64) ([]item[storage.GroupMessage], error) {
			msgs, err := s.db.QueryGroupMessages(ctx, []byte(topic), storage.Page{Cursor: after})
			if err != nil {
				return nil, err
			}
			items := make([]item[storage.GroupMessage], len(msgs))
			for i, m := range msgs {
				items[i] = item[storage.GroupMessage]{topic: topic, id: m.ID, value: m}
			}
			return items, nil
		},
		send: func(m storage.GroupMessage) error { return stream.Send(groupMessageProto(m, true)) },
	}
	return f.follow(stream.Context(), cursors)
}

// SubscribeWelcomeMessages is SubscribeGroupMessages for installation
// welcome topics; it needs at least one filter, each with an installation
// key (spec §2.11).
func (s *Server) SubscribeWelcomeMessages(req *mlsapi.SubscribeWelcomeMessagesRequest, stream grpc.ServerStreamingServer[mlsapi.WelcomeMessage]) error {
	if len(req.GetFilters()) == 0 {
		return invalidArgument("filters is empty; give at least one installation_key")
	}
	cursors := make(map[string]uint64, len(req.GetFilters()))
	for i, f := range req.GetFilters() {
		if len(f.GetInstallationKey()) == 0 {
			return invalidArgument("filters[%d].installation_key is empty", i)
		}
		addCursor(cursors, string(f.GetInstallationKey()), f.GetIdCursor())
	}
	if err := stream.SendHeader(nil); err != nil {
		return err
	}
	s.log.DebugContext(stream.Context(), "welcome subscription started", "topics", len(cursors))
	f := &follower[storage.WelcomeMessage]{
		hub: s.wel, buf: s.buf, stopping: s.stopping,
		page: func(ctx context.Context, topic string, after uint64) ([]item[storage.WelcomeMessage], error) {
			ws, err := s.db.QueryWelcomeMessages(ctx, []byte(topic), storage.Page{Cursor: after})
			if err != nil {
				return nil, err
			}
			items := make([]item[storage.WelcomeMessage], len(ws))
			for i, w := range ws {
				items[i] = item[storage.WelcomeMessage]{topic: topic, id: w.ID, value: w}
			}
			return items, nil
		},
		send: func(w storage.WelcomeMessage) error { return stream.Send(welcomeProto(w)) },
	}
	return f.follow(stream.Context(), cursors)
}

// addCursor records cursor for topic, keeping the lowest when the topic
// repeats.
func addCursor(cursors map[string]uint64, topic string, cursor uint64) {
	if c, ok := cursors[topic]; ok && c <= cursor {
		return
	}
	cursors[topic] = cursor
}
