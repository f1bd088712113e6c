package client

import (
	"context"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"mlsbridge/identity"
	"mlsbridge/mls"
	"mlsbridge/storage"
	"mlsbridge/wire/identityapi"
	"mlsbridge/wire/mlsapi"
)

// Signer signs identity updates for the account that owns the inbox: an
// Ethereum wallet ([*identity.EthereumSigner] satisfies it) or a caller's
// remote wallet. The client calls it from the calling goroutine during
// [New] (never), [Client.Register] and [Client.RevokeInstallations]; it may
// block while a person approves.
type Signer interface {
	// Identifier returns the wallet's member identifier (an Ethereum
	// address).
	Identifier() identity.MemberIdentifier
	// SignIdentityText signs the signature text of an identity update.
	SignIdentityText(text string) (identity.UnverifiedSignature, error)
}

var _ Signer = (*identity.EthereumSigner)(nil)

// Options configure [New]. DBPath and one of NodeAddress or Conn are
// required; every other zero value has a documented default.
type Options struct {
	// NodeAddress is the node's gRPC address, "host:port" (an "http://"
	// prefix is accepted), served as plaintext HTTP/2 (spec §1.1). Calls
	// wait for the node to be reachable until their ctx ends.
	NodeAddress string
	// Conn, when set, is used instead of dialing NodeAddress; the client
	// does not close it.
	Conn grpc.ClientConnInterface
	// DBPath is the installation's SQLite database file, created if
	// missing. One database holds one installation.
	DBPath string
	// Nonce is the inbox nonce used when the signer's address has no inbox
	// yet; nil means 1, node-bindings' default (spec §5.1).
	Nonce *uint64
	// Logger receives the client's logs; nil discards them. Keys and
	// plaintext are never logged.
	Logger *slog.Logger
	// Rand is the source of all randomness and must be safe for concurrent
	// use; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Codecs decode message content (enriched messages, replies); nil
	// means StandardCodecs.
	Codecs *CodecRegistry
	// LeaveRequestInterval is how often a goroutine of the client acts on
	// the leave requests of groups where we are a super admin
	// (ProcessPendingLeaveRequests; libxmtp's worker runs every second).
	// Zero means never: call ProcessPendingLeaveRequests yourself.
	LeaveRequestInterval time.Duration
}

// Client is one XMTP installation: its identity, its database and its
// groups. Its methods are safe for concurrent use; each group's MLS state is
// owned by one goroutine of the client (STYLE.md §6). Close releases it.
type Client struct {
	log    *slog.Logger
	db     *storage.ClientDB
	conn   *grpc.ClientConn // owned; nil when Options.Conn was given
	mlsAPI mlsapi.MlsApiClient
	idAPI  identityapi.IdentityApiClient
	rand   io.Reader
	now    func() time.Time

	signer   Signer
	inbox    identity.InboxID
	address  identity.Address
	nonce    uint64
	inst     *identity.InstallationSigner
	hmacRoot []byte
	ids      identityCache
	events   groupEvents
	codecs   *CodecRegistry
	// welcomeMu serialises welcome processing (SyncWelcomes, streams).
	welcomeMu sync.Mutex
	// version, when set, replaces LibXMTPVersion (see Version).
	version atomic.Pointer[string]
	// stats counts the RPCs made through mlsAPI and idAPI.
	stats *countingConn
	// forkRoles remembers each group's commit-log role (see forkGroups).
	forkRoles forkRoleCache

	mu         sync.Mutex // guards registered, actors, closed
	registered bool
	actors     map[string]*groupActor
	closed     bool
	stop       chan struct{}
	wg         sync.WaitGroup
}

// hmacRootKeySize is the length of the sender-HMAC secret (spec §8).
const hmacRootKeySize = 42

// New opens the installation stored at opts.DBPath, or creates a new one
// for signer's wallet: a fresh installation key, and the inbox id of the
// wallet's existing inbox (looked up on the node) or of a new inbox with
// opts.Nonce. signer may be nil to reopen an existing installation; when
// both exist, signer's address must be the stored one. A new installation
// still has to be [Client.Register]ed. New does I/O (database, network).
func New(ctx context.Context, signer Signer, opts Options) (*Client, error) {
	c := &Client{log: opts.Logger, rand: opts.Rand, now: opts.Now, signer: signer, codecs: opts.Codecs,
		actors: map[string]*groupActor{}, stop: make(chan struct{})}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.rand == nil {
		c.rand = cryptorand.Reader
	}
	if c.now == nil {
		c.now = time.Now
	}
	if opts.DBPath == "" {
		return nil, fmt.Errorf("%w: DBPath is required", ErrInvalidArgument)
	}
	cc := opts.Conn
	if cc == nil {
		if opts.NodeAddress == "" {
			return nil, fmt.Errorf("%w: NodeAddress or Conn is required", ErrInvalidArgument)
		}
		addr := strings.TrimPrefix(opts.NodeAddress, "http://")
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(50<<20), grpc.MaxCallSendMsgSize(25<<20), grpc.WaitForReady(true)))
		if err != nil {
			return nil, fmt.Errorf("dial node: %w", err)
		}
		c.conn, cc = conn, conn
	}
	c.stats = &countingConn{next: cc}
	c.mlsAPI, c.idAPI = mlsapi.NewMlsApiClient(c.stats), identityapi.NewIdentityApiClient(c.stats)
	db, err := storage.OpenClient(ctx, opts.DBPath, &storage.Options{Logger: c.log.With("component", "storage")})
	if err != nil {
		c.closeConn()
		return nil, fmt.Errorf("open client database: %w", err)
	}
	c.db = db
	if err := c.loadOrCreateIdentity(ctx, opts.Nonce); err != nil {
		_ = c.db.Close()
		c.closeConn()
		return nil, err
	}
	c.log = c.log.With("inbox_id", string(c.inbox), "installation_id", c.inst.ID().String())
	c.log.Info("client open", "registered", c.registered)
	c.startLeaveWorker(opts.LeaveRequestInterval)
	return c, nil
}

func (c *Client) closeConn() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

// loadOrCreateIdentity reads the stored identity or makes a new one.
func (c *Client) loadOrCreateIdentity(ctx context.Context, nonce *uint64) error {
	id, err := c.db.Identity(ctx)
	switch {
	case err == nil:
		return c.loadIdentity(id)
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("load identity: %w", err)
	case c.signer == nil:
		return fmt.Errorf("%w: no installation in %s and no signer to create one", ErrInvalidArgument, "the database")
	}
	addr, ok := c.signer.Identifier().Address()
	if !ok {
		return fmt.Errorf("%w: signer is not an Ethereum wallet", ErrInvalidArgument)
	}
	c.address, c.nonce = addr, 1
	if nonce != nil {
		c.nonce = *nonce
	}
	existing, found, err := c.InboxIDFor(ctx, addr)
	if err != nil {
		return err
	}
	if found {
		c.inbox = existing
	} else if c.inbox, err = identity.ComputeInboxID(identity.EthereumMember(addr), c.nonce); err != nil {
		return err
	}
	if c.inst, err = identity.GenerateInstallationSigner(c.rand); err != nil {
		return err
	}
	c.hmacRoot = make([]byte, hmacRootKeySize)
	if _, err := io.ReadFull(c.rand, c.hmacRoot); err != nil {
		return fmt.Errorf("generate hmac key: %w", err)
	}
	return c.saveIdentity(ctx)
}

func (c *Client) loadIdentity(id *storage.ClientIdentity) error {
	inst, err := identity.NewInstallationSigner(ed25519.PrivateKey(id.InstallationKey))
	if err != nil {
		return fmt.Errorf("%w: stored installation key: %w", ErrInternal, err)
	}
	c.inst, c.inbox, c.address, c.nonce = inst, identity.InboxID(id.InboxID), identity.Address(id.Address), id.Nonce
	c.hmacRoot, c.registered = id.HMACRootKey, id.Registered
	if c.signer != nil {
		if addr, _ := c.signer.Identifier().Address(); addr != c.address {
			return fmt.Errorf("%w: signer %s does not own stored inbox of %s", ErrInvalidArgument, addr, c.address)
		}
	}
	return nil
}

func (c *Client) saveIdentity(ctx context.Context) error {
	err := c.db.PutIdentity(ctx, storage.ClientIdentity{InboxID: string(c.inbox), Address: string(c.address), Nonce: c.nonce,
		InstallationKey: c.inst.PrivateKey(), HMACRootKey: c.hmacRoot, Registered: c.isRegistered(), CreatedNs: c.now().UnixNano()})
	if err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	return nil
}

// InboxID returns the installation's inbox id.
func (c *Client) InboxID() identity.InboxID { return c.inbox }

// InstallationID returns the installation id (its Ed25519 public key).
func (c *Client) InstallationID() identity.InstallationID { return c.inst.ID() }

// Address returns the wallet address the inbox was created or found for.
func (c *Client) Address() identity.Address { return c.address }

// IsRegistered reports whether the installation is on the network.
func (c *Client) IsRegistered() bool { return c.isRegistered() }

func (c *Client) isRegistered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered
}

// Close stops the client's group goroutines (waiting for the operations in
// flight), and closes the database and the connection it dialed. Later
// calls return nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	c.wg.Wait()
	err := c.db.Close()
	c.closeConn()
	c.log.Info("client closed")
	return err
}

// mlsConfig is the local MLS policy of every group (xmtp-groups.md §1.1):
// three past epochs for late application messages, the ratchet tree in
// welcomes, key-package lifetimes checked on our clock, and credentials
// that must be MlsCredentials.
func (c *Client) mlsConfig() mls.Config {
	return mls.Config{
		Rand:                    c.rand,
		Now:                     c.now,
		MaxPastEpochs:           3,
		UseRatchetTreeExtension: true,
		ValidateCredential: func(cred mls.Credential, _ []byte) error {
			if cred.Type != mls.CredentialTypeBasic {
				return fmt.Errorf("credential type %d, want basic", cred.Type)
			}
			_, err := identity.ParseCredentialIdentity(cred.Identity)
			return err
		},
	}
}

// signaturePriv is our MLS signature private key (the Ed25519 seed).
func (c *Client) signaturePriv() []byte { return c.inst.PrivateKey().Seed() }

func (c *Client) nowNs() int64 { return c.now().UnixNano() }
