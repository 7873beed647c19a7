# Roles, each with what it needs and no more.

locals {
  cluster_arn      = aws_ecs_cluster.this.arn
  namespace_arn    = aws_service_discovery_private_dns_namespace.functions.arn
  secret_arns      = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.secret_prefix}*"
  service_arns     = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${aws_ecs_cluster.this.name}/*"
  task_def_arns    = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/*"
  cloudmap_service = "arn:${local.partition}:servicediscovery:${local.region}:${local.account_id}:service/*"
  # The roles function tasks may run as: the two the module makes and the service accounts' (a
  # profile's task role must be one of these; the provider refuses to start otherwise).
  function_roles = distinct(compact(concat(
    [aws_iam_role.function_execution.arn, try(aws_iam_role.function_task[0].arn, "")],
    values(var.service_accounts),
  )))
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# What both execution roles need: pull images, decrypt with the optional KMS key.
data "aws_iam_policy_document" "execution_common" {
  #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken takes no resource, and images may come from any repository.
  statement {
    sid       = "PullImages"
    actions   = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

# Function execution role: ECS pulls the image, writes the logs and reads the function's secrets.

resource "aws_iam_role" "function_execution" {
  name               = "${var.name}-function-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function_execution" {
  source_policy_documents = [data.aws_iam_policy_document.execution_common.json]

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.functions.arn}:*"]
  }
  statement {
    sid       = "ReadOpenFaaSSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.secret_arns]
  }
}

resource "aws_iam_role_policy" "function_execution" {
  name   = "function-execution"
  role   = aws_iam_role.function_execution.id
  policy = data.aws_iam_policy_document.function_execution.json
}

# Function task role: what function code may call. Empty; attach policies to it.
resource "aws_iam_role" "function_task" {
  count = var.function_task_role ? 1 : 0

  name               = "${var.name}-function-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

# Gateway execution role: pulls the gateway, faas-ecs, NATS and queue-worker images, writes their
# logs, reads the basic auth secrets.

resource "aws_iam_role" "gateway_execution" {
  name               = "${var.name}-gateway-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "gateway_execution" {
  source_policy_documents = [data.aws_iam_policy_document.execution_common.json]

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.gateway.arn}:*"]
  }
  statement {
    sid       = "ReadBasicAuth"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.admin_user.arn, aws_secretsmanager_secret.admin_password.arn]
  }
}

resource "aws_iam_role_policy" "gateway_execution" {
  name   = "gateway-execution"
  role   = aws_iam_role.gateway_execution.id
  policy = data.aws_iam_policy_document.gateway_execution.json
}

# Provider role (the gateway task's role): exactly the AWS operations faas-ecs calls.
# terraform/tests checks this list against the code.

resource "aws_iam_role" "provider" {
  name               = "${var.name}-faas-ecs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "provider" {
  #checkov:skip=CKV_AWS_356:RegisterTaskDefinition, ListTaskDefinitions, ListSecrets and DiscoverInstances take no resource; each is limited by condition where AWS offers one.
  #checkov:skip=CKV_AWS_111:RegisterTaskDefinition takes no resource; the task definitions it makes can only pass the two function roles (iam:PassRole below).
  statement {
    sid       = "FunctionServices"
    actions   = ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices"]
    resources = [local.service_arns]
  }
  statement {
    sid       = "ListFunctionServices"
    actions   = ["ecs:ListServices"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }
  # RegisterTaskDefinition and ListTaskDefinitions take no resource.
  statement {
    sid       = "RegisterTaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:ListTaskDefinitions"]
    resources = ["*"]
  }
  statement {
    sid       = "FunctionTaskDefinitions"
    actions   = ["ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DeleteTaskDefinitions"]
    resources = [local.task_def_arns]
  }
  statement {
    sid       = "TagOnCreate"
    actions   = ["ecs:TagResource"]
    resources = [local.service_arns, local.task_def_arns]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["CreateService", "RegisterTaskDefinition"]
    }
  }
  # An update that moves a function to other profiles retags its service.
  statement {
    sid       = "RetagFunctionServices"
    actions   = ["ecs:TagResource", "ecs:UntagResource"]
    resources = [local.service_arns]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/managed-by"
      values   = ["faas-ecs"]
    }
  }
  statement {
    sid       = "PassFunctionRoles"
    actions   = ["iam:PassRole"]
    resources = local.function_roles
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  statement {
    sid       = "FunctionNamespace"
    actions   = ["servicediscovery:GetNamespace", "servicediscovery:CreateService", "servicediscovery:TagResource"]
    resources = [local.namespace_arn, local.cloudmap_service]
  }
  statement {
    sid       = "FunctionRegistries"
    actions   = ["servicediscovery:DeleteService", "servicediscovery:UpdateService", "servicediscovery:ListInstances", "servicediscovery:DeregisterInstance", "servicediscovery:ListTagsForResource"]
    resources = [local.cloudmap_service]
    condition {
      test     = "ArnEquals"
      variable = "servicediscovery:NamespaceArn"
      values   = [local.namespace_arn]
    }
  }
  # Without namespace management, the Cloud Map records of namespaces (tagged openfaas:kind =
  # namespace) cannot be made, changed or removed; UpdateService is used for nothing else.
  dynamic "statement" {
    for_each = var.namespace_management ? [] : [1]
    content {
      sid       = "NoNamespaceRecordChanges"
      effect    = "Deny"
      actions   = ["servicediscovery:CreateService"]
      resources = ["*"]
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/openfaas:kind"
        values   = ["namespace"]
      }
    }
  }
  dynamic "statement" {
    for_each = var.namespace_management ? [] : [1]
    content {
      sid       = "NoNamespaceRecordRemoval"
      effect    = "Deny"
      actions   = ["servicediscovery:DeleteService"]
      resources = ["*"]
      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/openfaas:kind"
        values   = ["namespace"]
      }
    }
  }
  dynamic "statement" {
    for_each = var.namespace_management ? [] : [1]
    content {
      sid       = "NoNamespaceRecordUpdates"
      effect    = "Deny"
      actions   = ["servicediscovery:UpdateService"]
      resources = ["*"]
    }
  }
  # ListServices takes no resource; faas-ecs filters by namespace and deletes only what it tagged.
  statement {
    sid       = "ListRegistries"
    actions   = ["servicediscovery:ListServices"]
    resources = ["*"]
  }
  # DiscoverInstances (FAAS_ECS_RESOLVER=cloudmap) is scoped by namespace name.
  statement {
    sid       = "DiscoverFunctions"
    actions   = ["servicediscovery:DiscoverInstances"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "servicediscovery:NamespaceName"
      values   = [local.domain]
    }
  }
  # Deregistering an instance of a DNS namespace edits its Route 53 records.
  statement {
    sid       = "DeregisterRecords"
    actions   = ["route53:ChangeResourceRecordSets"]
    resources = ["arn:${local.partition}:route53:::hostedzone/${aws_service_discovery_private_dns_namespace.functions.hosted_zone}"]
  }
  statement {
    sid       = "DeregisterHealthChecks"
    actions   = ["route53:GetHealthCheck", "route53:DeleteHealthCheck"]
    resources = ["arn:${local.partition}:route53:::healthcheck/*"]
  }
  statement {
    sid       = "OpenFaaSSecrets"
    actions   = ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:TagResource"]
    resources = [local.secret_arns]
  }
  statement {
    sid       = "ListSecrets"
    actions   = ["secretsmanager:ListSecrets"]
    resources = ["*"]
  }
  statement {
    sid       = "ReadFunctionLogs"
    actions   = ["logs:FilterLogEvents"]
    resources = ["${aws_cloudwatch_log_group.functions.arn}:*"]
  }
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "EncryptSecrets"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "provider" {
  name   = "faas-ecs"
  role   = aws_iam_role.provider.id
  policy = data.aws_iam_policy_document.provider.json
}

resource "aws_iam_role" "flow" {
  count = var.create_vpc ? 1 : 0

  name = "${var.name}-vpc-flow"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "vpc-flow-logs.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "flow" {
  count = var.create_vpc ? 1 : 0

  name = "vpc-flow"
  role = aws_iam_role.flow[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = "${aws_cloudwatch_log_group.flow[0].arn}:*"
    }]
  })
}
