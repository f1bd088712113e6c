package plugins

import (
	"fmt"
	"slices"
	"strings"
)

// MaxTemplateLength is the longest template [ParseTemplate] accepts, in
// bytes.
const MaxTemplateLength = 2000

// Template is a chat message with placeholders, as admins write them in
// plugin configs: "Welcome {mentions}!". A placeholder is a name in braces
// from the set the plugin allows; "{{" and "}}" write literal braces. A
// Template is parsed once, when the config is provisioned, so a bad one is
// refused before it is saved. The zero Template renders as "".
type Template struct {
	parts []templatePart
}

type templatePart struct {
	text  string // literal text, or the placeholder name when isVar
	isVar bool
}

// ParseTemplate parses text, allowing only the placeholders in names. Its
// errors are worded for a person.
func ParseTemplate(text string, names ...string) (Template, error) {
	if len(text) > MaxTemplateLength {
		return Template{}, fmt.Errorf("the message is %d bytes long; the limit is %d", len(text), MaxTemplateLength)
	}
	var t Template
	var lit strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(text) && text[i+1] == c:
			lit.WriteByte(c)
			i++
		case c == '}':
			return Template{}, fmt.Errorf("a } at byte %d closes nothing (write }} for a brace)", i)
		case c == '{':
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				return Template{}, fmt.Errorf("a { at byte %d is never closed (write {{ for a brace)", i)
			}
			name := text[i+1 : i+end]
			if !slices.Contains(names, name) {
				return Template{}, fmt.Errorf("{%s} is not a placeholder I know; use %s", truncate(name, 32), placeholders(names))
			}
			t.parts = appendLiteral(t.parts, &lit)
			t.parts = append(t.parts, templatePart{text: name, isVar: true})
			i += end
		default:
			lit.WriteByte(c)
		}
	}
	t.parts = appendLiteral(t.parts, &lit)
	return t, nil
}

func appendLiteral(parts []templatePart, lit *strings.Builder) []templatePart {
	if lit.Len() > 0 {
		parts = append(parts, templatePart{text: lit.String()})
		lit.Reset()
	}
	return parts
}

func placeholders(names []string) string {
	if len(names) == 0 {
		return "no placeholders"
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "{" + n + "}"
	}
	return strings.Join(quoted, ", ")
}

// IsZero reports whether t is empty.
func (t Template) IsZero() bool { return len(t.parts) == 0 }

// Render returns the text with each placeholder replaced by its value in
// vars (empty when missing).
func (t Template) Render(vars map[string]string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.isVar {
			b.WriteString(vars[p.text])
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// String returns the template as ParseTemplate reads it.
func (t Template) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.isVar {
			b.WriteString("{" + p.text + "}")
		} else {
			b.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(p.text))
		}
	}
	return b.String()
}
