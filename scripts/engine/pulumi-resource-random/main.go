// Command pulumi-resource-random is prodkit's stand-in for the `random` resource plugin in the engine tests.
//
// pulumi-random's provider (github.com/pulumi/pulumi-random/provider/v4) and the Terraform provider it bridges are
// not served by the Go module proxy this project can reach (403 on every version), so scripts/pulumi-engine builds
// this one and installs it under the version the installed pulumi_random SDK requests. It implements the two
// resources prodkit uses, random:index/randomPassword:RandomPassword and random:index/randomString:RandomString, with
// the upstream semantics that matter to a deployment: the same inputs and defaults (length required; upper, lower,
// numeric and special on; min_* 0), a result drawn from crypto/rand that honours every character-class rule, a
// bcrypt hash for passwords, results kept in state (a second `pulumi up` changes nothing) and any input change
// replacing the resource. The SDK marks result and bcryptHash secret, so they are encrypted in state.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is set at link time to the version the pulumi_random SDK requests.
var providerVersion = "dev"

const (
	passwordType = "random:index/randomPassword:RandomPassword"
	stringType   = "random:index/randomString:RandomString"
)

var inputKeys = []string{"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number",
	"numeric", "overrideSpecial", "special", "upper"}

type randomProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true})
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
}

func typeOf(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 3 {
		return ""
	}
	t := parts[2]
	if i := strings.LastIndex(t, "$"); i >= 0 {
		t = t[i+1:]
	}
	return t
}

func supported(urn string) error {
	switch typeOf(urn) {
	case passwordType, stringType:
		return nil
	}
	return fmt.Errorf("resource type %q is not implemented by prodkit's random provider", typeOf(urn))
}

func (p *randomProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: providerVersion}, nil
}

func (p *randomProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"random","version":%q}`, providerVersion)}, nil
}

func (p *randomProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *randomProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *randomProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

// Check validates the inputs and fills in the upstream defaults.
func (p *randomProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := supported(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	length, ok := news["length"]
	switch {
	case !ok:
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "missing required property 'length'"})
	case length.IsNumber() && length.NumberValue() < 1:
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length must be at least 1"})
	}
	for _, k := range []string{"upper", "lower", "numeric", "number", "special"} {
		if _, ok := news[resource.PropertyKey(k)]; !ok {
			news[resource.PropertyKey(k)] = resource.NewBoolProperty(true)
		}
	}
	for _, k := range []string{"minUpper", "minLower", "minNumeric", "minSpecial"} {
		if _, ok := news[resource.PropertyKey(k)]; !ok {
			news[resource.PropertyKey(k)] = resource.NewNumberProperty(0)
		}
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff replaces on any input change (every upstream input forces a new result).
func (p *randomProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = unmarshal(req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, k := range inputKeys {
		o, n := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if n.ContainsUnknowns() || !o.DeepEquals(n) {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	sort.Strings(changed)
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: changed, Diffs: changed, DeleteBeforeReplace: false,
	}, nil
}

func boolOf(m resource.PropertyMap, k string) bool {
	v := m[resource.PropertyKey(k)]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	return !v.IsBool() || v.BoolValue()
}

func intOf(m resource.PropertyMap, k string) int {
	v := m[resource.PropertyKey(k)]
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func pick(charset string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(charset))))
	if err != nil {
		return 0, err
	}
	return charset[n.Int64()], nil
}

// generate draws a result with the upstream rules: at least min_* characters of each enabled class, the rest from
// the union of enabled classes, shuffled.
func generate(in resource.PropertyMap) (string, error) {
	const upper, lower, numeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"
	special := "!@#$%&*()-_=+[]{}<>:?"
	if v := in["overrideSpecial"]; v.IsString() && v.StringValue() != "" {
		special = v.StringValue()
	}
	length := intOf(in, "length")
	var all string
	var result []byte
	classes := []struct {
		on      bool
		charset string
		min     int
	}{
		{boolOf(in, "upper"), upper, intOf(in, "minUpper")},
		{boolOf(in, "lower"), lower, intOf(in, "minLower")},
		{boolOf(in, "numeric") && boolOf(in, "number"), numeric, intOf(in, "minNumeric")},
		{boolOf(in, "special"), special, intOf(in, "minSpecial")},
	}
	for _, c := range classes {
		if !c.on {
			continue
		}
		all += c.charset
		for i := 0; i < c.min; i++ {
			b, err := pick(c.charset)
			if err != nil {
				return "", err
			}
			result = append(result, b)
		}
	}
	if all == "" {
		return "", errors.New("at least one of upper, lower, numeric and special must be true")
	}
	for len(result) < length {
		b, err := pick(all)
		if err != nil {
			return "", err
		}
		result = append(result, b)
	}
	for i := len(result) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		result[i], result[j.Int64()] = result[j.Int64()], result[i]
	}
	return string(result), nil
}

func (p *randomProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := supported(req.GetUrn()); err != nil {
		return nil, err
	}
	in, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		return nil, errors.New("preview creates are not supported (Configure did not ask for them)")
	}
	result, err := generate(in)
	if err != nil {
		return nil, err
	}
	outs := in.Copy()
	outs["result"] = resource.MakeSecret(resource.NewStringProperty(result))
	if typeOf(req.GetUrn()) == passwordType {
		hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		outs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	}
	id, err := generateID()
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func generateID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return fmt.Sprintf("none-%x", b), nil
}

// Read returns the state as stored: the result exists only in Pulumi state.
func (p *randomProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// Update is reached only when no input changed in a way Diff reports (e.g. secretness): keep the result.
func (p *randomProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	outs := news.Copy()
	for _, k := range []resource.PropertyKey{"result", "bcryptHash"} {
		if v, ok := olds[k]; ok {
			outs[k] = v
		}
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *randomProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *randomProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func main() {
	if err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &randomProvider{}, nil
	}); err != nil {
		panic(err)
	}
}
