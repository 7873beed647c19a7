output "gateway_url" {
  description = "URL of the OpenFaaS gateway (faas-cli login --gateway ...)."
  value       = local.gateway_url
}

output "admin_user" {
  description = "Basic auth user of the gateway."
  value       = var.admin_user
}

output "admin_password_command" {
  description = "Prints the gateway's admin password (stored base64 in Secrets Manager)."
  value       = "aws secretsmanager get-secret-value --region ${local.region} --secret-id ${aws_secretsmanager_secret.admin_password.arn} --query SecretString --output text | base64 -d"
}

output "faas_ecs_environment" {
  description = "Every setting faas-ecs runs with."
  value       = local.faas_ecs_environment
}

output "cluster_name" {
  description = "ECS cluster of the gateway and the functions."
  value       = aws_ecs_cluster.this.name
}

output "namespace_id" {
  description = "Cloud Map namespace of the functions."
  value       = aws_service_discovery_private_dns_namespace.functions.id
}

output "function_task_role_name" {
  description = "Role function code runs as: attach policies to it."
  value       = try(aws_iam_role.function_task[0].name, null)
}

output "function_log_group" {
  description = "CloudWatch Logs group of function output."
  value       = aws_cloudwatch_log_group.functions.name
}

output "function_security_group_id" {
  description = "Security group of function tasks, which admits the gateway: include it in a profile that sets security_groups."
  value       = aws_security_group.functions.id
}

output "cleanup_args" {
  description = "Arguments of faas-ecs-cleanup for this stack: run it (with --dry-run first) before terraform destroy."
  value       = "--cluster=${aws_ecs_cluster.this.name} --cloudmap-namespace-id=${aws_service_discovery_private_dns_namespace.functions.id} --secret-prefix=${var.secret_prefix}"
}
