package client

import (
	"context"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
)

// APIStats counts the MLS API calls this client made, named as libxmtp's
// ApiStats (node-bindings apiStatistics): one per RPC, a subscription
// counting once when it is opened.
type APIStats struct {
	UploadKeyPackage     uint64
	FetchKeyPackage      uint64
	SendGroupMessages    uint64
	SendWelcomeMessages  uint64
	QueryGroupMessages   uint64
	QueryWelcomeMessages uint64
	SubscribeMessages    uint64
	SubscribeWelcomes    uint64
}

// IdentityStats counts the identity API calls this client made, named as
// libxmtp's IdentityStats (apiIdentityStatistics).
type IdentityStats struct {
	PublishIdentityUpdate              uint64
	GetIdentityUpdatesV2               uint64
	GetInboxIDs                        uint64
	VerifySmartContractWalletSignature uint64
}

// Counter slots, indexed by apiMethods.
const (
	statUploadKeyPackage = iota
	statFetchKeyPackage
	statSendGroupMessages
	statSendWelcomeMessages
	statQueryGroupMessages
	statQueryWelcomeMessages
	statSubscribeMessages
	statSubscribeWelcomes
	statPublishIdentityUpdate
	statGetIdentityUpdates
	statGetInboxIDs
	statVerifySCW
	statCount
)

// apiMethods maps a gRPC method (service suffix and name) to its counter.
// GetIdentityUpdates exists on both services; libxmtp counts either as
// getIdentityUpdatesV2.
var apiMethods = map[string]int{
	"MlsApi/UploadKeyPackage":                         statUploadKeyPackage,
	"MlsApi/FetchKeyPackages":                         statFetchKeyPackage,
	"MlsApi/SendGroupMessages":                        statSendGroupMessages,
	"MlsApi/SendWelcomeMessages":                      statSendWelcomeMessages,
	"MlsApi/QueryGroupMessages":                       statQueryGroupMessages,
	"MlsApi/QueryWelcomeMessages":                     statQueryWelcomeMessages,
	"MlsApi/SubscribeGroupMessages":                   statSubscribeMessages,
	"MlsApi/SubscribeWelcomeMessages":                 statSubscribeWelcomes,
	"MlsApi/GetIdentityUpdates":                       statGetIdentityUpdates,
	"IdentityApi/PublishIdentityUpdate":               statPublishIdentityUpdate,
	"IdentityApi/GetIdentityUpdates":                  statGetIdentityUpdates,
	"IdentityApi/GetInboxIds":                         statGetInboxIDs,
	"IdentityApi/VerifySmartContractWalletSignatures": statVerifySCW,
}

// countingConn counts every call made through it, then delegates.
type countingConn struct {
	next   grpc.ClientConnInterface
	counts [statCount]atomic.Uint64
}

func (c *countingConn) count(method string) {
	// method is "/package.Service/Method"; keep "Service/Method".
	i := strings.LastIndexByte(method, '/')
	if i < 0 {
		return
	}
	svc := method[:i]
	if j := strings.LastIndexByte(svc, '.'); j >= 0 {
		svc = svc[j+1:]
	}
	if slot, ok := apiMethods[svc+method[i:]]; ok {
		c.counts[slot].Add(1)
	}
}

// Invoke implements grpc.ClientConnInterface.
func (c *countingConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.count(method)
	return c.next.Invoke(ctx, method, args, reply, opts...)
}

// NewStream implements grpc.ClientConnInterface.
func (c *countingConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c.count(method)
	return c.next.NewStream(ctx, desc, method, opts...)
}

// APIStatistics returns the MLS API calls made since the client was
// opened.
func (c *Client) APIStatistics() APIStats {
	n := &c.stats.counts
	return APIStats{
		UploadKeyPackage: n[statUploadKeyPackage].Load(), FetchKeyPackage: n[statFetchKeyPackage].Load(),
		SendGroupMessages: n[statSendGroupMessages].Load(), SendWelcomeMessages: n[statSendWelcomeMessages].Load(),
		QueryGroupMessages: n[statQueryGroupMessages].Load(), QueryWelcomeMessages: n[statQueryWelcomeMessages].Load(),
		SubscribeMessages: n[statSubscribeMessages].Load(), SubscribeWelcomes: n[statSubscribeWelcomes].Load(),
	}
}

// IdentityStatistics returns the identity API calls made since the client
// was opened.
func (c *Client) IdentityStatistics() IdentityStats {
	n := &c.stats.counts
	return IdentityStats{
		PublishIdentityUpdate: n[statPublishIdentityUpdate].Load(), GetIdentityUpdatesV2: n[statGetIdentityUpdates].Load(),
		GetInboxIDs: n[statGetInboxIDs].Load(), VerifySmartContractWalletSignature: n[statVerifySCW].Load(),
	}
}
