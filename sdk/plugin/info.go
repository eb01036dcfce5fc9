package plugin

import (
	"context"
	"fmt"

	"github.com/stc-trading/stc/sdk/internal/convert"
	commonv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/common/v1"
	pluginv1 "github.com/stc-trading/stc/sdk/internal/pb/stc/plugin/v1"
	"github.com/stc-trading/stc/sdk/schema"
)

// Info is a plugin's fingerprint as reported by GetInfo.
type Info struct {
	Kind          Kind
	Name          string
	Version       string
	SDKVersion    string
	ProtocolMinor uint32
	Multiplexing  bool
	Fields        []schema.Field // parameters (strategy) or credentials (broker)
	Capabilities  map[string]bool
	Description   string
	// DisplayName is the name as people read it ("IQ Option"); empty from
	// plugins before protocol 1.4, and from those that declare none.
	DisplayName string
	// Settings are the operator settings the plugin reads at start
	// (protocol 1.3; empty from older plugins).
	Settings []Setting
}

// infoServer answers GetInfo from a fixed Info.
type infoServer struct {
	pluginv1.UnimplementedInfoServiceServer
	info Info
}

func (s *infoServer) GetInfo(context.Context, *pluginv1.GetInfoRequest) (*pluginv1.GetInfoResponse, error) {
	kind := commonv1.PluginKind_PLUGIN_KIND_UNSPECIFIED
	switch s.info.Kind {
	case KindBroker:
		kind = commonv1.PluginKind_PLUGIN_KIND_BROKER
	case KindStrategy:
		kind = commonv1.PluginKind_PLUGIN_KIND_STRATEGY
	}
	return &pluginv1.GetInfoResponse{
		Kind:          kind,
		Name:          s.info.Name,
		Version:       s.info.Version,
		SdkVersion:    s.info.SDKVersion,
		ProtocolMinor: s.info.ProtocolMinor,
		Multiplexing:  s.info.Multiplexing,
		Fields:        convert.FieldsToPB(s.info.Fields),
		Capabilities:  s.info.Capabilities,
		Description:   s.info.Description,
		Settings:      convert.FieldsToPB(s.info.Settings),
		DisplayName:   s.info.DisplayName,
	}, nil
}

func getInfo(ctx context.Context, c pluginv1.InfoServiceClient) (Info, error) {
	resp, err := c.GetInfo(ctx, &pluginv1.GetInfoRequest{})
	if err != nil {
		return Info{}, fmt.Errorf("get plugin info: %w", convert.FromStatus(err))
	}
	var kind Kind
	switch resp.GetKind() {
	case commonv1.PluginKind_PLUGIN_KIND_BROKER:
		kind = KindBroker
	case commonv1.PluginKind_PLUGIN_KIND_STRATEGY:
		kind = KindStrategy
	}
	return Info{
		Kind:          kind,
		Name:          resp.GetName(),
		Version:       resp.GetVersion(),
		SDKVersion:    resp.GetSdkVersion(),
		ProtocolMinor: resp.GetProtocolMinor(),
		Multiplexing:  resp.GetMultiplexing(),
		Fields:        convert.FieldsFromPB(resp.GetFields()),
		Capabilities:  resp.GetCapabilities(),
		Description:   resp.GetDescription(),
		Settings:      convert.FieldsFromPB(resp.GetSettings()),
		DisplayName:   resp.GetDisplayName(),
	}, nil
}
