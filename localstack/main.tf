# The module against LocalStack, with provider_override.tf beside it.

module "openfaas" {
  source = "../terraform"

  name               = "openfaas"
  faas_ecs_image     = "faas-ecs:local"
  availability_zones = ["us-east-1a", "us-east-1b"]
  gateway_count      = 0 # the gateway and faas-ecs run in docker compose, beside LocalStack
}

output "faas_ecs_environment" {
  description = "Settings for faas-ecs (faas-ecs.env)."
  value       = module.openfaas.faas_ecs_environment
}
