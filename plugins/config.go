package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"mlsbridge/commands"
)

// Duration is a config duration. In JSON it is a string: "30s", "1h30m" or
// "7d" as chat commands write them ([commands.ParseDuration]), Go's
// "1.5s" or "500ms", or "0", "0s" or "off" for zero. It encodes as the
// shortest of those forms. Negative durations are refused.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a string such as "1d12h" or "500ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// String returns d as MarshalJSON writes it, unquoted.
func (d Duration) String() string {
	switch td := time.Duration(d); {
	case td == 0:
		return "0s"
	case td%time.Second == 0 && td > 0:
		return commands.FormatDuration(td)
	default:
		return td.String()
	}
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`write a duration as text, like "30s", "10m" or "7d"`)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration reads a [Duration] from its text form.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	switch t {
	case "0", "0s", "off", "":
		return 0, nil
	}
	if v, off, err := commands.ParseDuration(t); err == nil && !off {
		return Duration(v), nil
	}
	if v, err := time.ParseDuration(t); err == nil {
		if v < 0 {
			return 0, fmt.Errorf("%q is negative", truncate(s, 32))
		}
		return Duration(v), nil
	}
	return 0, fmt.Errorf("%q is not a duration: write a number and a unit, like 30s, 10m, 1h or 7d", truncate(s, 32))
}

// StringList is a config list of strings. In JSON it is an array of
// strings, or one string holding a comma-separated list (as an admin types
// it in chat: "spam, scam"), whose items are trimmed and whose empty items
// are dropped. Use the array form for items that contain commas. null and
// "" are the empty list.
type StringList []string

// UnmarshalJSON reads an array of strings or a comma-separated string.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*l = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`write a list as ["a", "b"] or as "a, b"`)
	}
	*l = splitList(s)
	return nil
}

// splitList splits s on commas, trims each item and drops empty ones.
func splitList(s string) StringList {
	var out StringList
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// CheckConfig reports whether raw is a config info's plugin accepts, by
// building a fresh instance exactly as a [Manager] does before starting
// it: strict decoding (raw must be a JSON object with only known keys and
// nothing after it; empty and null mean the defaults), then the plugin's
// Provision and Validate. The instance is not started. Errors are
// *[ConfigError] (whose Reason is worded for a person), or *[PanicError]
// when the plugin panicked.
func CheckConfig(info Info, raw json.RawMessage) error {
	_, err := build(info, raw)
	return err
}

// decodeConfig decodes raw into p strictly: unknown keys and trailing data
// are errors. Empty raw and null leave p as it is. Errors are worded for a
// person.
func decodeConfig(raw json.RawMessage, p Plugin) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] != '{' {
		return errors.New("settings must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return humanize(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("there is more after the settings object")
	}
	return nil
}

// humanize rewords encoding/json's errors.
func humanize(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return errors.New("settings must be a JSON object")
		}
		return fmt.Errorf("%s must be %s, not %s", te.Field, kindWord(te.Type), te.Value)
	}
	if _, ok := errors.AsType[*json.SyntaxError](err); ok {
		return errors.New("the settings are not valid JSON")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("there is no setting %s", name)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the settings are not valid JSON")
	}
	return errors.New(strings.TrimPrefix(msg, "json: "))
}

// kindWord names what a Go type accepts, for a person.
func kindWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// setKey returns the config object raw with key set to the JSON value, or
// removed when value is nil.
func setKey(raw json.RawMessage, key string, value json.RawMessage) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if t := bytes.TrimSpace(raw); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		if err := json.Unmarshal(t, &obj); err != nil {
			return nil, errors.New("the stored settings are not a JSON object")
		}
	}
	if value == nil {
		delete(obj, key)
	} else {
		obj[key] = value
	}
	if len(obj) == 0 {
		return nil, nil
	}
	return json.Marshal(obj) // keys sorted
}

// valueCandidates returns the JSON values an admin's typed value may mean,
// most literal first: the text itself when it is valid JSON (a number,
// true, a list, a quoted string), then the text as a JSON string.
func valueCandidates(value string) []json.RawMessage {
	asString, _ := json.Marshal(value)
	t := strings.TrimSpace(value)
	if t != "" && json.Valid([]byte(t)) && t != string(asString) {
		return []json.RawMessage{json.RawMessage(t), asString}
	}
	return []json.RawMessage{asString}
}

// describeConfig renders p's exported config as "key: value" lines in
// field order, values as compact JSON; empty when p has no config.
func describeConfig(p Plugin) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return "", fmt.Errorf("encode config: %w", err)
	}
	dec := json.NewDecoder(&buf)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil
	}
	var lines []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("read config: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf("read config: %w", err)
		}
		lines = append(lines, fmt.Sprintf("%v: %s", k, v))
	}
	return strings.Join(lines, "\n"), nil
}
