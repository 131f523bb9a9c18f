package schemas

import (
	"encoding/json"
	"fmt"
	"strings"
)

// memberNames lists every member name of the three records, in the case
// they are written.
var memberNames = []string{
	"tenantId", "clientId", "clientCreated", "clientUserAgent", "dataResidency", "country",
	"locationAccuracy", "latitude", "longitude", "clientScreenWidth", "clientScreenHeight",
	"clientScreenColorDepth", "clientScreenPixelDepth", "captureId", "sessionId",
	"sessionCreated", "environment", "spaceId", "appId", "appVersion", "installationId",
	"installationVersion", "deviceId", "eventTime", "eventType", "interaction", "ip",
	"productId", "categoryId", "int1", "int2", "int3", "int4", "int5", "str1", "str2",
	"str3", "str4", "str5", "stateful", "public",
}

var (
	exactMembers = map[string]bool{}
	// lowerMembers maps a lower-case name to its written form.
	lowerMembers = map[string]string{}
)

func init() {
	for _, n := range memberNames {
		exactMembers[n] = true
		lowerMembers[strings.ToLower(n)] = n
	}
}

// maxMembers bounds the names checkMemberNames compares for duplicates; a
// record with more members is checked for the first maxMembers only.
const maxMembers = 128

// checkMemberNames rejects a record that names a member twice, or names a
// known member in another case, such as "TenantID". encoding/json accepts
// both, the last one or the case-insensitive match winning, so a proxy that
// reads tenantId with a stricter parser could see another tenant than
// gridsession. data must be a valid JSON object; the scan reads it once and
// does not allocate for names without escapes.
func checkMemberNames(data []byte) error {
	var seen [maxMembers]string
	n := 0
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			end := stringEnd(data, i)
			if depth == 1 && isMemberName(data, end) {
				name, err := checkName(data[i+1:end], seen[:n])
				if err != nil {
					return err
				}
				if n < maxMembers {
					seen[n] = name
					n++
				}
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the quote that closes the string opened at
// data[start].
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data)
}

// isMemberName reports whether the string that ends at data[end] is
// followed by a colon, which makes it a member name.
func isMemberName(data []byte, end int) bool {
	for i := end + 1; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

// checkName returns the unescaped member name, or an error when it repeats
// a name in seen or writes a known name in another case.
func checkName(raw []byte, seen []string) (string, error) {
	name := string(raw)
	if strings.IndexByte(name, '\\') >= 0 {
		var unescaped string
		if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &unescaped) == nil {
			name = unescaped
		}
	}
	for _, s := range seen {
		if s == name {
			return "", &FieldError{Reason: ReasonInvalidJSON, Field: name, Detail: "member appears twice"}
		}
	}
	if exactMembers[name] {
		return name, nil
	}
	if want, ok := lowerMembers[strings.ToLower(name)]; ok {
		return "", &FieldError{Reason: ReasonInvalidField, Field: name, Detail: fmt.Sprintf("member name must be written %q", want)}
	}
	return name, nil
}
