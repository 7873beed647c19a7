# The OpenFaaS gateway with faas-ecs beside it in one Fargate task, behind the load balancer.

resource "random_password" "admin" {
  length  = 32
  special = false
}

# Stored as base64, the form faas-ecs-secrets turns into files (as for function secrets).
resource "aws_secretsmanager_secret" "admin_user" {
  #checkov:skip=CKV2_AWS_57:The gateway reads the credentials at start; rotate by changing admin_user and applying.
  name                    = "${var.name}-gateway/basic-auth-user"
  description             = "OpenFaaS gateway basic auth user (base64)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 0
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "admin_user" {
  secret_id     = aws_secretsmanager_secret.admin_user.id
  secret_string = base64encode(var.admin_user)
}

resource "aws_secretsmanager_secret" "admin_password" {
  #checkov:skip=CKV2_AWS_57:The gateway reads the password at start; rotate by tainting random_password.admin and applying.
  name                    = "${var.name}-gateway/basic-auth-password"
  description             = "OpenFaaS gateway basic auth password (base64)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 0
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "admin_password" {
  secret_id     = aws_secretsmanager_secret.admin_password.id
  secret_string = base64encode(random_password.admin.result)
}

locals {
  gateway_url = var.certificate_arn == null ? "http://${aws_lb.gateway.dns_name}" : "https://${aws_lb.gateway.dns_name}"

  # Everything faas-ecs is configured with (also an output). It listens on the task's address
  # too: the other replicas read its load there (the security group admits only gateway tasks,
  # and /system/* wants basic auth); FAAS_ECS_PEERS finds every gateway task by its Cloud Map
  # name, so that the replicas scale by their summed load.
  faas_ecs_environment = {
    port                           = "8081"
    bind_address                   = "0.0.0.0"
    basic_auth                     = "true"
    secret_mount_path              = "/run/secrets/"
    read_timeout                   = var.timeout
    write_timeout                  = var.timeout
    FAAS_ECS_CLUSTER               = aws_ecs_cluster.this.name
    FAAS_ECS_SUBNETS               = join(",", local.private_subnet_ids)
    FAAS_ECS_SECURITY_GROUPS       = aws_security_group.functions.id
    FAAS_ECS_CLOUDMAP_NAMESPACE_ID = aws_service_discovery_private_dns_namespace.functions.id
    FAAS_ECS_EXECUTION_ROLE_ARN    = aws_iam_role.function_execution.arn
    FAAS_ECS_TASK_ROLE_ARN         = try(aws_iam_role.function_task[0].arn, "")
    FAAS_ECS_LOG_GROUP             = aws_cloudwatch_log_group.functions.name
    FAAS_ECS_CAPACITY_PROVIDERS    = var.function_capacity_providers
    FAAS_ECS_PROFILES              = length(var.profiles) == 0 ? "" : jsonencode(local.profiles)
    FAAS_ECS_SERVICE_ACCOUNTS      = length(var.service_accounts) == 0 ? "" : jsonencode(var.service_accounts)
    FAAS_ECS_DEFAULT_CPU           = tostring(var.function_cpu)
    FAAS_ECS_DEFAULT_MEMORY        = tostring(var.function_memory)
    FAAS_ECS_SECRET_PREFIX         = var.secret_prefix
    FAAS_ECS_SECRETS_IMAGE         = var.faas_ecs_image
    FAAS_ECS_BUSY_POLL             = var.faas_ecs_busy_poll
    FAAS_ECS_NAMESPACE_MANAGEMENT  = tostring(var.namespace_management)
    FAAS_ECS_PEERS                 = "http://gateway.${local.domain}:8081"
  }

  gateway_environment = merge(
    {
      functions_provider_url = "http://127.0.0.1:8081/"
      direct_functions       = "false"
      basic_auth             = "true"
      secret_mount_path      = "/run/secrets/"
      scale_from_zero        = "true"
      read_timeout           = var.timeout
      write_timeout          = var.timeout
      upstream_timeout       = var.timeout
      # The Prometheus in this task: without one the gateway fails to list functions.
      faas_prometheus_host = "127.0.0.1"
      faas_prometheus_port = "9090"
    },
    var.enable_async ? { faas_nats_address = "nats.${local.domain}", faas_nats_port = "4222" } : {}
  )

  log_options = {
    "awslogs-group"  = aws_cloudwatch_log_group.gateway.name
    "awslogs-region" = local.region
  }

  # Every gateway task's invocation counts (found by the gateway's Cloud Map name), so that each
  # task's Prometheus holds the totals; and this task's faas-ecs (invocations, scaling).
  prometheus_config = yamlencode({
    global = { scrape_interval = "15s" }
    scrape_configs = [
      { job_name = "gateway", dns_sd_configs = [{ names = ["gateway.${local.domain}"], type = "A", port = 8082 }] },
      { job_name = "faas-ecs", static_configs = [{ targets = ["127.0.0.1:8081"] }] },
    ]
  })

  # Prometheus, listening inside the task only; its configuration comes in an environment variable
  # (the image has a shell), its data on the task's ephemeral storage.
  prometheus_container = {
    name                   = "prometheus"
    image                  = var.prometheus_image
    essential              = true
    readonlyRootFilesystem = true
    entryPoint             = ["/bin/sh", "-c"]
    command = [join(" ", [
      "printf '%s' \"$PROMETHEUS_CONFIG\" > /prometheus/prometheus.yml &&",
      "exec /bin/prometheus --config.file=/prometheus/prometheus.yml --storage.tsdb.path=/prometheus/data",
      "--storage.tsdb.retention.time=${var.prometheus_retention} --web.listen-address=127.0.0.1:9090",
    ])]
    environment      = [{ name = "PROMETHEUS_CONFIG", value = local.prometheus_config }]
    mountPoints      = [{ sourceVolume = "prometheus", containerPath = "/prometheus", readOnly = false }]
    logConfiguration = { logDriver = "awslogs", options = merge(local.log_options, { "awslogs-stream-prefix" = "prometheus" }) }
  }

  # Writes the basic auth secrets as files into the task's auth volume, then exits.
  auth_files_container = {
    name                   = "auth-files"
    image                  = var.faas_ecs_image
    essential              = false
    readonlyRootFilesystem = true
    entryPoint             = ["/usr/local/bin/faas-ecs-secrets"]
    command                = ["/run/secrets"]
    environment = [
      { name = "OPENFAAS_SECRETS", value = "basic-auth-user,basic-auth-password" },
    ]
    secrets = [
      { name = "OPENFAAS_SECRET_0", valueFrom = aws_secretsmanager_secret.admin_user.arn },
      { name = "OPENFAAS_SECRET_1", valueFrom = aws_secretsmanager_secret.admin_password.arn },
    ]
    mountPoints      = [{ sourceVolume = "auth", containerPath = "/run/secrets", readOnly = false }]
    logConfiguration = { logDriver = "awslogs", options = merge(local.log_options, { "awslogs-stream-prefix" = "auth" }) }
  }
}

resource "aws_ecs_task_definition" "gateway" {
  family                   = "${var.name}-gateway"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.gateway_execution.arn
  task_role_arn            = aws_iam_role.provider.arn
  tags                     = var.tags

  lifecycle {
    # faas-ecs would refuse to start: it may pass only the roles in local.function_roles.
    precondition {
      condition     = length(local.profile_roles_not_allowed) == 0
      error_message = "Profiles ${join(", ", local.profile_roles_not_allowed)} set a task_role_arn that is not in var.service_accounts."
    }
  }

  volume {
    name = "auth"
  }

  volume {
    name = "prometheus"
  }

  container_definitions = jsonencode([
    local.auth_files_container,
    local.prometheus_container,
    {
      name                   = "gateway"
      image                  = var.gateway_image
      essential              = true
      readonlyRootFilesystem = true
      portMappings           = [{ containerPort = 8080, protocol = "tcp" }]
      environment            = [for k, v in local.gateway_environment : { name = k, value = v }]
      mountPoints            = [{ sourceVolume = "auth", containerPath = "/run/secrets", readOnly = true }]
      dependsOn              = [{ containerName = "auth-files", condition = "SUCCESS" }]
      logConfiguration       = { logDriver = "awslogs", options = merge(local.log_options, { "awslogs-stream-prefix" = "gateway" }) }
    },
    {
      name                   = "faas-ecs"
      image                  = var.faas_ecs_image
      essential              = true
      readonlyRootFilesystem = true
      environment            = [for k, v in local.faas_ecs_environment : { name = k, value = v } if v != ""]
      mountPoints            = [{ sourceVolume = "auth", containerPath = "/run/secrets", readOnly = true }]
      dependsOn              = [{ containerName = "auth-files", condition = "SUCCESS" }]
      # The gateway's grace period; faas-ecs finishes open invocations on SIGTERM.
      stopTimeout      = 60
      logConfiguration = { logDriver = "awslogs", options = merge(local.log_options, { "awslogs-stream-prefix" = "faas-ecs" }) }
    },
  ])
}

resource "aws_service_discovery_service" "gateway" {
  name = "gateway"
  tags = var.tags

  dns_config {
    namespace_id = aws_service_discovery_private_dns_namespace.functions.id
    dns_records {
      type = "A"
      ttl  = 5
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_ecs_service" "gateway" {
  name            = "${var.name}-gateway"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.gateway.arn
  desired_count   = var.gateway_count
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  tags            = var.tags

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [aws_security_group.gateway.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.gateway.arn
    container_name   = "gateway"
    container_port   = 8080
  }

  service_registries {
    registry_arn = aws_service_discovery_service.gateway.arn
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.http]
}

# Load balancer

resource "aws_lb" "gateway" {
  #checkov:skip=CKV_AWS_150:Deletion protection would make terraform destroy of a trial stack fail; turn it on in the console or a wrapper for production.
  #checkov:skip=CKV2_AWS_28:A WAF web ACL is an account-wide choice; associate one with the load balancer output if wanted.
  #checkov:skip=CKV_AWS_91:Access logs need an S3 bucket with its own policy; left to the account's logging setup.
  name                       = "${var.name}-gateway"
  load_balancer_type         = "application"
  internal                   = var.internal_load_balancer
  subnets                    = var.internal_load_balancer ? local.private_subnet_ids : local.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  # Long-running functions: the gateway's own timeout is the limit, not the load balancer's.
  idle_timeout = 4000
  tags         = var.tags
}

resource "aws_lb_target_group" "gateway" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the gateway stays inside the VPC, between two security groups.
  name        = "${var.name}-gateway"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = local.vpc_id
  tags        = var.tags

  health_check {
    path    = "/healthz"
    matcher = "200"
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.gateway.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type             = var.certificate_arn == null ? "forward" : "redirect"
    target_group_arn = var.certificate_arn == null ? aws_lb_target_group.gateway.arn : null

    dynamic "redirect" {
      for_each = var.certificate_arn == null ? [] : [1]
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count = var.certificate_arn == null ? 0 : 1

  load_balancer_arn = aws_lb.gateway.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  tags              = var.tags

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.gateway.arn
  }
}
