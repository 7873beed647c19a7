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

module "openfaas" {
  source = "../.."

  name            = "openfaas"
  faas_ecs_image  = var.faas_ecs_image
  certificate_arn = var.certificate_arn
  enable_async    = true
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
