package node

import (
	"context"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"mlsbridge/storage"
	"mlsbridge/wire/association"
	"mlsbridge/wire/content"
	"mlsbridge/wire/mlsapi"
)

// BatchPublishCommitLog stores 1 to 10 commit-log entries without
// verifying them (spec §2.11); each needs a group id, entry bytes and a
// signature.
func (s *Server) BatchPublishCommitLog(ctx context.Context, req *mlsapi.BatchPublishCommitLogRequest) (*emptypb.Empty, error) {
	in := req.GetRequests()
	if len(in) == 0 || len(in) > maxCommitLogPublish {
		return nil, invalidArgument("%d requests; send 1 to %d commit-log entries per call", len(in), maxCommitLogPublish)
	}
	entries := make([]storage.CommitLogEntry, len(in))
	for i, r := range in {
		switch {
		case len(r.GetGroupId()) == 0:
			return nil, invalidArgument("requests[%d].group_id is empty", i)
		case len(r.GetSerializedCommitLogEntry()) == 0:
			return nil, invalidArgument("requests[%d].serialized_commit_log_entry is empty", i)
		case r.GetSignature() == nil:
			return nil, invalidArgument("requests[%d].signature is required", i)
		case len(r.GetSerializedCommitLogEntry()) > MaxPayloadBytes:
			return nil, invalidArgument("requests[%d].serialized_commit_log_entry is more than %d bytes", i, MaxPayloadBytes)
		}
		sig, err := proto.MarshalOptions{Deterministic: true}.Marshal(r.GetSignature())
		if err != nil {
			return nil, internalError("encode commit-log signature", err)
		}
		entries[i] = storage.CommitLogEntry{GroupID: r.GetGroupId(), Entry: r.GetSerializedCommitLogEntry(), Signature: sig}
	}
	if _, err := s.db.InsertCommitLogEntries(ctx, s.nowNs(), entries); err != nil {
		return nil, internalError("store commit-log entries", err)
	}
	return &emptypb.Empty{}, nil
}

// BatchQueryCommitLog answers 1 to 20 ascending commit-log queries, one
// response per query in order (spec §2.11).
func (s *Server) BatchQueryCommitLog(ctx context.Context, req *mlsapi.BatchQueryCommitLogRequest) (*mlsapi.BatchQueryCommitLogResponse, error) {
	in := req.GetRequests()
	if len(in) == 0 || len(in) > maxCommitLogQueries {
		return nil, invalidArgument("%d requests; send 1 to %d commit-log queries per call", len(in), maxCommitLogQueries)
	}
	for i, q := range in {
		if len(q.GetGroupId()) == 0 {
			return nil, invalidArgument("requests[%d].group_id is empty", i)
		}
		if q.GetPagingInfo().GetDirection() == mlsapi.SortDirection_SORT_DIRECTION_DESCENDING {
			return nil, invalidArgument("requests[%d]: the commit log is only queried ascending", i)
		}
	}
	resp := &mlsapi.BatchQueryCommitLogResponse{Responses: make([]*mlsapi.QueryCommitLogResponse, len(in))}
	for i, q := range in {
		p := storage.Page{Limit: int(min(q.GetPagingInfo().GetLimit(), storage.MaxPageSize)), Cursor: q.GetPagingInfo().GetIdCursor()}
		entries, err := s.db.QueryCommitLog(ctx, q.GetGroupId(), p)
		if err != nil {
			return nil, internalError("query commit log", err)
		}
		r := &mlsapi.QueryCommitLogResponse{GroupId: q.GetGroupId(), CommitLogEntries: make([]*content.CommitLogEntry, len(entries))}
		var last uint64
		for j, e := range entries {
			sig := new(association.RecoverableEd25519Signature)
			if err := proto.Unmarshal(e.Signature, sig); err != nil {
				return nil, internalError("decode stored commit-log signature", err)
			}
			r.CommitLogEntries[j] = &content.CommitLogEntry{SequenceId: e.ID, SerializedCommitLogEntry: e.Entry, Signature: sig}
			last = e.ID
		}
		r.PagingInfo = responsePaging(p, len(entries), last)
		resp.Responses[i] = r
	}
	return resp, nil
}
