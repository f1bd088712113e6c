package main

import (
	"context"
	"strconv"
)

func init() {
	registerClientOps(map[string]opFunc{"apiStats": opAPIStats})
}

// opAPIStats answers "apiStats" as the peer does: libxmtp's MLS and
// identity API call counters, as decimal strings (the peer prints bigints
// that way).
func opAPIStats(_ context.Context, s *clientSession, cmd *command) (obj, error) {
	sc, err := s.peer(cmd)
	if err != nil {
		return nil, err
	}
	n := func(v uint64) string { return strconv.FormatUint(v, 10) }
	m, id := sc.c.APIStatistics(), sc.c.IdentityStatistics()
	return obj{
		{"mls", obj{{"uploadKeyPackage", n(m.UploadKeyPackage)}, {"fetchKeyPackage", n(m.FetchKeyPackage)},
			{"sendGroupMessages", n(m.SendGroupMessages)}, {"sendWelcomeMessages", n(m.SendWelcomeMessages)},
			{"queryGroupMessages", n(m.QueryGroupMessages)}, {"queryWelcomeMessages", n(m.QueryWelcomeMessages)},
			{"subscribeMessages", n(m.SubscribeMessages)}, {"subscribeWelcomes", n(m.SubscribeWelcomes)}}},
		{"identity", obj{{"publishIdentityUpdate", n(id.PublishIdentityUpdate)}, {"getIdentityUpdatesV2", n(id.GetIdentityUpdatesV2)},
			{"getInboxIds", n(id.GetInboxIDs)}, {"verifySmartContractWalletSignature", n(id.VerifySmartContractWalletSignature)}}},
	}, nil
}
