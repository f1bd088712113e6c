package wire_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// rpc is one row of shared/spec/xmtp-wire-identity-and-api.md §1.3, with the
// request and response types of §2 and §3.
type rpc struct {
	path         string
	serverStream bool
	in, out      string
}

const empty = "google.protobuf.Empty"

// specRPCs lists every RPC libxmtp 1.9.1 calls (§1.3 table) and then the three
// MlsApi RPCs that are defined but not called.
var specRPCs = []rpc{
	{"/xmtp.mls.api.v1.MlsApi/UploadKeyPackage", false, "xmtp.mls.api.v1.UploadKeyPackageRequest", empty},
	{"/xmtp.mls.api.v1.MlsApi/FetchKeyPackages", false, "xmtp.mls.api.v1.FetchKeyPackagesRequest", "xmtp.mls.api.v1.FetchKeyPackagesResponse"},
	{"/xmtp.mls.api.v1.MlsApi/SendGroupMessages", false, "xmtp.mls.api.v1.SendGroupMessagesRequest", empty},
	{"/xmtp.mls.api.v1.MlsApi/SendWelcomeMessages", false, "xmtp.mls.api.v1.SendWelcomeMessagesRequest", empty},
	{"/xmtp.mls.api.v1.MlsApi/QueryGroupMessages", false, "xmtp.mls.api.v1.QueryGroupMessagesRequest", "xmtp.mls.api.v1.QueryGroupMessagesResponse"},
	{"/xmtp.mls.api.v1.MlsApi/QueryWelcomeMessages", false, "xmtp.mls.api.v1.QueryWelcomeMessagesRequest", "xmtp.mls.api.v1.QueryWelcomeMessagesResponse"},
	{"/xmtp.mls.api.v1.MlsApi/SubscribeGroupMessages", true, "xmtp.mls.api.v1.SubscribeGroupMessagesRequest", "xmtp.mls.api.v1.GroupMessage"},
	{"/xmtp.mls.api.v1.MlsApi/SubscribeWelcomeMessages", true, "xmtp.mls.api.v1.SubscribeWelcomeMessagesRequest", "xmtp.mls.api.v1.WelcomeMessage"},
	{"/xmtp.mls.api.v1.MlsApi/BatchPublishCommitLog", false, "xmtp.mls.api.v1.BatchPublishCommitLogRequest", empty},
	{"/xmtp.mls.api.v1.MlsApi/BatchQueryCommitLog", false, "xmtp.mls.api.v1.BatchQueryCommitLogRequest", "xmtp.mls.api.v1.BatchQueryCommitLogResponse"},
	{"/xmtp.mls.api.v1.MlsApi/GetNewestGroupMessage", false, "xmtp.mls.api.v1.GetNewestGroupMessageRequest", "xmtp.mls.api.v1.GetNewestGroupMessageResponse"},
	{"/xmtp.identity.api.v1.IdentityApi/PublishIdentityUpdate", false, "xmtp.identity.api.v1.PublishIdentityUpdateRequest", "xmtp.identity.api.v1.PublishIdentityUpdateResponse"},
	{"/xmtp.identity.api.v1.IdentityApi/GetIdentityUpdates", false, "xmtp.identity.api.v1.GetIdentityUpdatesRequest", "xmtp.identity.api.v1.GetIdentityUpdatesResponse"},
	{"/xmtp.identity.api.v1.IdentityApi/GetInboxIds", false, "xmtp.identity.api.v1.GetInboxIdsRequest", "xmtp.identity.api.v1.GetInboxIdsResponse"},
	{"/xmtp.identity.api.v1.IdentityApi/VerifySmartContractWalletSignatures", false, "xmtp.identity.api.v1.VerifySmartContractWalletSignaturesRequest", "xmtp.identity.api.v1.VerifySmartContractWalletSignaturesResponse"},

	{"/xmtp.mls.api.v1.MlsApi/RegisterInstallation", false, "xmtp.mls.api.v1.RegisterInstallationRequest", "xmtp.mls.api.v1.RegisterInstallationResponse"},
	{"/xmtp.mls.api.v1.MlsApi/RevokeInstallation", false, "xmtp.mls.api.v1.RevokeInstallationRequest", empty},
	{"/xmtp.mls.api.v1.MlsApi/GetIdentityUpdates", false, "xmtp.mls.api.v1.GetIdentityUpdatesRequest", "xmtp.mls.api.v1.GetIdentityUpdatesResponse"},
}

// TestServiceDescriptors checks that the protobuf descriptors define exactly
// the spec's RPCs, with their full method names, streaming kinds and types.
func TestServiceDescriptors(t *testing.T) {
	var got []string
	for _, name := range []protoreflect.FullName{"xmtp.mls.api.v1.MlsApi", "xmtp.identity.api.v1.IdentityApi"} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			path := "/" + string(name) + "/" + string(m.Name())
			got = append(got, path)
			i := slices.IndexFunc(specRPCs, func(r rpc) bool { return r.path == path })
			if i < 0 {
				t.Errorf("%s is defined but not in the spec", path)
				continue
			}
			want := specRPCs[i]
			if m.IsStreamingClient() || m.IsStreamingServer() != want.serverStream {
				t.Errorf("%s: client stream %v, server stream %v; want false, %v",
					path, m.IsStreamingClient(), m.IsStreamingServer(), want.serverStream)
			}
			if in, out := string(m.Input().FullName()), string(m.Output().FullName()); in != want.in || out != want.out {
				t.Errorf("%s: %s → %s; want %s → %s", path, in, out, want.in, want.out)
			}
		}
	}
	for _, r := range specRPCs {
		if !slices.Contains(got, r.path) {
			t.Errorf("%s is in the spec but not defined", r.path)
		}
	}
}

// TestGRPCServiceDescs checks the generated grpc.ServiceDesc values, which
// are what a server registers and so what paths it answers on.
func TestGRPCServiceDescs(t *testing.T) {
	var got []string
	for _, sd := range []grpc.ServiceDesc{mlsapi.MlsApi_ServiceDesc, identityapi.IdentityApi_ServiceDesc} {
		for _, m := range sd.Methods {
			got = append(got, "/"+sd.ServiceName+"/"+m.MethodName)
		}
		for _, s := range sd.Streams {
			path := "/" + sd.ServiceName + "/" + s.StreamName
			got = append(got, path)
			if s.ClientStreams || !s.ServerStreams {
				t.Errorf("%s: client streams %v, server streams %v; want a server stream", path, s.ClientStreams, s.ServerStreams)
			}
		}
	}
	var want []string
	for _, r := range specRPCs {
		want = append(want, r.path)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("gRPC paths:\ngot  %q\nwant %q", got, want)
	}
	// The generated full-method-name constants are what client interceptors
	// and tests compare against.
	for c, want := range map[string]string{
		mlsapi.MlsApi_SubscribeGroupMessages_FullMethodName:          "/xmtp.mls.api.v1.MlsApi/SubscribeGroupMessages",
		mlsapi.MlsApi_GetNewestGroupMessage_FullMethodName:           "/xmtp.mls.api.v1.MlsApi/GetNewestGroupMessage",
		identityapi.IdentityApi_GetInboxIds_FullMethodName:           "/xmtp.identity.api.v1.IdentityApi/GetInboxIds",
		identityapi.IdentityApi_PublishIdentityUpdate_FullMethodName: "/xmtp.identity.api.v1.IdentityApi/PublishIdentityUpdate",
	} {
		if c != want {
			t.Errorf("full method name constant %q, want %q", c, want)
		}
	}
}
