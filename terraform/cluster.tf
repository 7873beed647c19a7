# Where functions run and how they are found: the ECS cluster, the Cloud Map namespace, the logs.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  domain     = "${var.name}.local"
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

# Functions are <name>.<domain>; ECS registers their healthy tasks here.
resource "aws_service_discovery_private_dns_namespace" "functions" {
  name        = local.domain
  description = "OpenFaaS functions"
  vpc         = local.vpc_id
  tags        = var.tags
}

# OpenFaaS namespaces made up front, recorded as faas-ecs records them: a Cloud Map service of
# type HTTP (no DNS records) named _namespace.<name>, labels and annotations in its description.
resource "aws_service_discovery_service" "namespace" {
  for_each     = toset(var.namespaces)
  name         = "_namespace.${each.value}"
  namespace_id = aws_service_discovery_private_dns_namespace.functions.id
  type         = "HTTP"
  description  = jsonencode({ labels = { openfaas = "1" } })
  tags = merge(var.tags, {
    "managed-by"         = "faas-ecs"
    "openfaas:namespace" = each.value
    "openfaas:kind"      = "namespace"
    # faas-ecs-cleanup leaves what Terraform removes.
    "openfaas:terraform" = "true"
  })
}

resource "aws_cloudwatch_log_group" "functions" {
  name              = "/${var.name}/functions"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "gateway" {
  name              = "/${var.name}/gateway"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}
