// Command bareplugin is the smallest go-plugin gRPC plugin with the STC
// handshake: it serves no STC service, only the gRPC health service
// go-plugin registers in every plugin. BenchmarkLiveBareProcess calls it
// to measure a go-plugin round trip with no STC code in the plugin
// process at all. It lives under testdata so that only the benchmark
// builds it.
package main

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stc-trading/stc/sdk/plugin"
)

// bare registers nothing: the health service is go-plugin's own.
type bare struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (bare) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return nil }

func (bare) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  plugin.Handshake(),
		VersionedPlugins: map[int]goplugin.PluginSet{plugin.ProtocolVersion: {plugin.DispenseName(plugin.KindStrategy): bare{}}},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}
