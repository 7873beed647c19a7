//! How invocations find a function's tasks.

use std::time::Duration;

use super::parse;

/// How invocations find a function's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResolverKind {
    /// Cloud Map DNS.
    Dns,
    /// The Cloud Map API (DiscoverInstances).
    Cloudmap,
    /// A fixed table (FAAS_ECS_ENDPOINTS).
    Fixed,
}

/// The DNS records of a function's Cloud Map service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DnsRecords {
    #[value(name = "A")]
    A,
    #[value(name = "SRV")]
    Srv,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Resolver {
    /// How invocations find a function's tasks: `dns` (Cloud Map DNS), `cloudmap` (the Cloud Map
    /// API, for HTTP namespaces or a provider outside the VPC) or `fixed` (FAAS_ECS_ENDPOINTS).
    #[arg(long, env = "FAAS_ECS_RESOLVER", value_name = "FAAS_ECS_RESOLVER", value_enum, default_value_t = ResolverKind::Dns)]
    pub resolver: ResolverKind,

    /// DNS server for the `dns` resolver, e.g. 127.0.0.1:5353 (default: the system's; in a VPC, Route 53).
    #[arg(long, env = "FAAS_ECS_DNS_SERVER", value_name = "FAAS_ECS_DNS_SERVER")]
    pub dns_server: Option<std::net::SocketAddr>,

    /// DNS records of function services: `A` (tasks on port 8080, awsvpc) or `SRV` (A and SRV
    /// records, for tasks that share a host or use another port).
    #[arg(long, env = "FAAS_ECS_DNS_RECORDS", value_name = "FAAS_ECS_DNS_RECORDS", value_enum, default_value_t = DnsRecords::A)]
    pub dns_records: DnsRecords,

    /// How often the `cloudmap` resolver refreshes the instances of the functions it was asked for.
    #[arg(long, env = "FAAS_ECS_DISCOVERY_INTERVAL", value_name = "FAAS_ECS_DISCOVERY_INTERVAL", default_value = "2s", value_parser = parse::positive_duration)]
    pub discovery_interval: Duration,

    /// For the `fixed` resolver: `name=host:port|host:port,other=host:port`.
    #[arg(
        long,
        env = "FAAS_ECS_ENDPOINTS",
        value_name = "FAAS_ECS_ENDPOINTS",
        default_value = ""
    )]
    pub endpoints: String,
}
