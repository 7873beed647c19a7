# The whole stack in a new VPC.

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "faas_ecs_image" {
  description = "The faas-ecs image, pushed to a registry the tasks can pull from."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS (optional)."
  type        = string
  default     = null
}

variable "reports_bucket" {
  description = "An S3 bucket of yours that functions annotated com.openfaas.serviceaccount: reports-reader may read, and nothing else. Empty: no such role."
  type        = string
  default     = ""
}

data "aws_partition" "current" {}

locals {
  reports_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.reports_bucket}"
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "read_reports" {
  statement {
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [local.reports_bucket_arn, "${local.reports_bucket_arn}/*"]
  }
}

resource "aws_iam_role" "reports_reader" {
  count              = var.reports_bucket == "" ? 0 : 1
  name               = "openfaas-reports-reader"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "read_reports" {
  count  = var.reports_bucket == "" ? 0 : 1
  name   = "read-reports"
  role   = aws_iam_role.reports_reader[0].id
  policy = data.aws_iam_policy_document.read_reports.json
}

module "openfaas" {
  source = "../.."

  name            = "openfaas"
  faas_ecs_image  = var.faas_ecs_image
  certificate_arn = var.certificate_arn
  enable_async    = true

  # com.openfaas.profile: spot (Fargate Spot, with one on-demand task kept), graviton (ARM64).
  profiles = {
    spot = {
      capacity_provider_strategy = [
        { capacity_provider = "FARGATE", base = 1, weight = 0 },
        { capacity_provider = "FARGATE_SPOT", weight = 1 },
      ]
    }
    graviton = {
      runtime_platform = { cpu_architecture = "ARM64" }
    }
  }
  service_accounts = var.reports_bucket == "" ? {} : {
    reports-reader = aws_iam_role.reports_reader[0].arn
  }
}

output "gateway_url" {
  description = "URL of the OpenFaaS gateway."
  value       = module.openfaas.gateway_url
}

output "admin_password_command" {
  description = "Prints the admin password."
  value       = module.openfaas.admin_password_command
}

output "faas_ecs_environment" {
  description = "What faas-ecs runs with."
  value       = module.openfaas.faas_ecs_environment
}

output "cleanup_args" {
  description = "Arguments of faas-ecs-cleanup, to run before terraform destroy."
  value       = module.openfaas.cleanup_args
}
