# Asynchronous invocations (optional): NATS Streaming and the queue-worker, which calls functions
# through the gateway.

locals {
  # var.timeout in seconds (validated as [Nh][Nm][Ns]).
  timeout_parts   = regex("^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$", var.timeout)
  timeout_seconds = 3600 * tonumber(coalesce(local.timeout_parts[0], "0")) + 60 * tonumber(coalesce(local.timeout_parts[1], "0")) + tonumber(coalesce(local.timeout_parts[2], "0"))
  # NATS redelivers a job it has not seen acknowledged within ack_wait, so it covers the longest
  # job: the invocation (the gateway cuts it at var.timeout), a wake from zero (faas-ecs's
  # FAAS_ECS_SCALE_FROM_ZERO_TIMEOUT, 50 s by default) and the callback (30 s to connect).
  ack_wait_seconds = local.timeout_seconds + 50 + 30
}

resource "aws_security_group" "async" {
  count = var.enable_async ? 1 : 0

  name        = "${var.name}-async"
  description = "NATS and the queue-worker"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "nats_from_gateway" {
  count = var.enable_async ? 1 : 0

  security_group_id            = aws_security_group.async[0].id
  description                  = "NATS from the gateway"
  referenced_security_group_id = aws_security_group.gateway.id
  from_port                    = 4222
  to_port                      = 4222
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "nats_from_queue_worker" {
  count = var.enable_async ? 1 : 0

  security_group_id            = aws_security_group.async[0].id
  description                  = "NATS from the queue-worker"
  referenced_security_group_id = aws_security_group.async[0].id
  from_port                    = 4222
  to_port                      = 4222
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "async_out" {
  count = var.enable_async ? 1 : 0

  security_group_id = aws_security_group.async[0].id
  description       = "Gateway, NATS, registries, AWS APIs"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_service_discovery_service" "nats" {
  count = var.enable_async ? 1 : 0

  name = "nats"
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

resource "aws_ecs_task_definition" "nats" {
  count = var.enable_async ? 1 : 0

  family                   = "${var.name}-nats"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.gateway_execution.arn
  tags                     = var.tags

  container_definitions = jsonencode([{
    name                   = "nats"
    image                  = var.nats_image
    essential              = true
    readonlyRootFilesystem = true
    command                = ["--store", "memory", "--cluster_id", "faas-cluster"]
    portMappings           = [{ containerPort = 4222, protocol = "tcp" }]
    logConfiguration       = { logDriver = "awslogs", options = merge(local.log_options, { "awslogs-stream-prefix" = "nats" }) }
  }])
}

resource "aws_ecs_service" "nats" {
  count = var.enable_async ? 1 : 0

  name            = "${var.name}-nats"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.nats[0].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  tags            = var.tags

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [aws_security_group.async[0].id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.nats[0].arn
  }
}

resource "aws_ecs_task_definition" "queue_worker" {
  count = var.enable_async ? 1 : 0

  family                   = "${var.name}-queue-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.gateway_execution.arn
  tags                     = var.tags

  container_definitions = jsonencode([
    {
      name                   = "queue-worker"
      image                  = var.queue_worker_image
      essential              = true
      readonlyRootFilesystem = true
      # Only what queue-worker 0.14 reads (its readconfig.go): it always invokes through the
      # gateway's /function/ route, which needs no credentials, and runs one job at a time, so
      # concurrency is the number of its tasks (var.queue_workers).
      environment = [for k, v in {
        faas_nats_address    = "nats.${local.domain}"
        faas_nats_port       = "4222"
        faas_gateway_address = "gateway.${local.domain}"
        ack_wait             = "${local.ack_wait_seconds}s"
      } : { name = k, value = v }]
      logConfiguration = { logDriver = "awslogs", options = merge(local.log_options, { "awslogs-stream-prefix" = "queue-worker" }) }
    },
  ])
}

resource "aws_ecs_service" "queue_worker" {
  count = var.enable_async ? 1 : 0

  name            = "${var.name}-queue-worker"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.queue_worker[0].arn
  desired_count   = var.queue_workers
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  tags            = var.tags

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [aws_security_group.async[0].id]
    assign_public_ip = false
  }
}
