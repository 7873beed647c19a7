# The stack in a VPC you already have: private subnets with NAT for the gateway and functions,
# public subnets for the load balancer.

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
}

variable "vpc_id" {
  description = "The VPC (DNS support and DNS hostnames must be on)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets with a route to the internet through NAT."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer."
  type        = list(string)
}

variable "faas_ecs_image" {
  description = "The faas-ecs image, pushed to a registry the tasks can pull from."
  type        = string
}

module "openfaas" {
  source = "../.."

  name               = "openfaas"
  create_vpc         = false
  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids
  public_subnet_ids  = var.public_subnet_ids
  faas_ecs_image     = var.faas_ecs_image
  allowed_cidrs      = ["10.0.0.0/8"]
}

output "gateway_url" {
  description = "URL of the OpenFaaS gateway."
  value       = module.openfaas.gateway_url
}

output "admin_password_command" {
  description = "Prints the admin password."
  value       = module.openfaas.admin_password_command
}
