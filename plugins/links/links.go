// Package links is the moderation.links plugin: it deletes messages with
// links to hosts that are not on the group's allowlist, warns the sender
// and reports a violation (which moderation.strikes counts). Importing
// the package registers the plugin.
package links

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"mlsbridge/plugins"
	"mlsbridge/plugins/internal/moderation"
)

// ID is the plugin's ID.
const ID plugins.ID = "moderation.links"

// MaxHosts is the most allowed hosts a config may list.
const MaxHosts = 500

// DefaultWarning is the warning used when Config.Warning is empty.
const DefaultWarning = "{sender}, your message was removed: it has a {rule}."

// Rule is the Violation.Rule the plugin reports.
const Rule = "link to a site that isn't allowed here"

func init() {
	plugins.Register(plugins.Info{
		ID:      ID,
		Summary: "deletes messages with links to sites that aren't on the allowlist",
		New:     func() plugins.Plugin { return new(Allowlist) },
	})
}

// Config is the plugin's config in a group.
type Config struct {
	// AllowedHosts are the host names links may point to. A host allows
	// its subdomains too: "example.com" allows "www.example.com".
	// Matching ignores case and a trailing dot; "*.example.com" means
	// "example.com". Write host names only (or IP addresses), without
	// scheme, port or path. Empty (zero): every link is a violation. At
	// most MaxHosts.
	AllowedHosts plugins.StringList `json:"allowed_hosts"`
	// CheckBareDomains treats bare domain names ("example.com/page") as
	// links too. False (zero): only text with a scheme ("https://...")
	// or starting with "www." is a link.
	CheckBareDomains bool `json:"check_bare_domains"`
	// KeepMessage keeps a violating message. False (zero): it is deleted.
	KeepMessage bool `json:"keep_message"`
	// Silent sends no warning. False (zero): the sender is warned in the
	// group.
	Silent bool `json:"silent"`
	// Warning is the warning, with the placeholders {sender} (a mention)
	// and {rule}. Empty: DefaultWarning.
	Warning string `json:"warning"`
	// ModerateAdmins checks admins' and super admins' messages too.
	// False (zero): they are exempt.
	ModerateAdmins bool `json:"moderate_admins"`
}

// Allowlist is the plugin.
type Allowlist struct {
	Config

	hosts   []string // normalized AllowedHosts
	warning plugins.Template
}

var _ plugins.Provisioner = (*Allowlist)(nil)

var hostRE = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$`)

// Provision normalizes and checks the allowed hosts and the warning.
func (a *Allowlist) Provision() error {
	if len(a.AllowedHosts) > MaxHosts {
		return fmt.Errorf("there are %d allowed hosts; the limit is %d", len(a.AllowedHosts), MaxHosts)
	}
	a.hosts = make([]string, len(a.AllowedHosts))
	for i, h := range a.AllowedHosts {
		n := normalizeHost(strings.TrimPrefix(strings.TrimSpace(h), "*."))
		if len(n) > 253 || (!hostRE.MatchString(n) && net.ParseIP(n) == nil) {
			return fmt.Errorf("allowed host %d must be a host name like example.com, without scheme, port or path", i+1)
		}
		a.hosts[i] = n
	}
	var err error
	a.warning, err = moderation.ParseWarning(a.Warning, DefaultWarning)
	return err
}

// HandleEvent checks the links of text messages.
func (a *Allowlist) HandleEvent(ctx context.Context, h *plugins.Host, ev plugins.Event) error {
	m, ok := ev.(plugins.Message)
	if !ok || !moderation.Moderated(m, a.ModerateAdmins) || a.Allowed(m.Text) {
		return nil
	}
	return moderation.Enforce(ctx, h, m, moderation.Response{Rule: Rule, Keep: a.KeepMessage, Silent: a.Silent, Warning: a.warning})
}

// Allowed reports whether every link in text points to an allowed host. a
// must be provisioned.
func (a *Allowlist) Allowed(text string) bool {
	for _, host := range Hosts(text, a.CheckBareDomains) {
		if !a.allowedHost(host) {
			return false
		}
	}
	return true
}

func (a *Allowlist) allowedHost(host string) bool {
	if host == "" {
		return false
	}
	for _, h := range a.hosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

var (
	schemeLinkRE = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s<>"]*`)
	wwwLinkRE    = regexp.MustCompile(`(?i)\bwww\.[^\s<>"]+`)
	bareLinkRE   = regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}\b(?:[/:?#][^\s<>"]*)?`)
)

// Hosts returns the host of each link in text, normalized; "" for a link
// whose host cannot be read (which no allowlist allows). Links are text
// with a scheme ("https://...") or starting with "www."; with bare, also
// bare domain names ("example.com/page").
func Hosts(text string, bare bool) []string {
	var hosts []string
	for _, re := range []*regexp.Regexp{schemeLinkRE, wwwLinkRE} {
		for _, link := range re.FindAllString(text, -1) {
			hosts = append(hosts, hostOf(link))
		}
		text = re.ReplaceAllString(text, " ")
	}
	if bare {
		for _, loc := range bareLinkRE.FindAllStringIndex(text, -1) {
			if loc[0] > 0 && text[loc[0]-1] == '@' {
				continue // an email address, not a link
			}
			hosts = append(hosts, hostOf(text[loc[0]:loc[1]]))
		}
	}
	return hosts
}

// hostOf returns the normalized host of link, "" when it has none.
func hostOf(link string) string {
	link = strings.TrimRight(link, ".,;:!?)]}'\"")
	if !strings.Contains(link, "://") {
		link = "http://" + link
	}
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return normalizeHost(u.Hostname())
}

func normalizeHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }
