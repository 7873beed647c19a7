variable "name" {
  description = "Name prefix for every resource of the stack."
  type        = string
  default     = "openfaas"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# Network

variable "create_vpc" {
  description = "Create a VPC with public and private subnets. When false, give vpc_id, private_subnet_ids and public_subnet_ids."
  type        = bool
  default     = true
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC this module creates."
  type        = string
  default     = "10.42.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones for the subnets this module creates (two or more)."
  type        = list(string)
  default     = []
}

variable "vpc_id" {
  description = "Existing VPC to use when create_vpc is false."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Existing private subnets (with a route to the internet through NAT) for the gateway and the functions, when create_vpc is false."
  type        = list(string)
  default     = []
}

variable "public_subnet_ids" {
  description = "Existing public subnets for the load balancer, when create_vpc is false."
  type        = list(string)
  default     = []
}

variable "allowed_cidrs" {
  description = "Client networks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on the load balancer. Without it the gateway is served over plain HTTP."
  type        = string
  default     = null
}

variable "internal_load_balancer" {
  description = "Make the load balancer internal (reachable only from the VPC and peered networks)."
  type        = bool
  default     = false
}

# Images and versions

variable "faas_ecs_image" {
  description = "The faas-ecs container image (built from this repository's Dockerfile and pushed to a registry the tasks can pull from)."
  type        = string
}

variable "faas_ecs_busy_poll" {
  description = "How long faas-ecs keeps polling for I/O after a request before it sleeps (FAAS_ECS_BUSY_POLL, e.g. 200us): lower latency per invocation for up to that much CPU time per request. Off (0) by default here, since faas-ecs shares the gateway task's capped CPU with the gateway."
  type        = string
  default     = "0"
}

variable "gateway_image" {
  description = "The OpenFaaS gateway image."
  type        = string
  default     = "ghcr.io/openfaas/gateway:0.27.14"
}

variable "prometheus_image" {
  description = "Prometheus image, run in each gateway task: the gateway asks it for the invocation counts it adds to function lists."
  type        = string
  default     = "prom/prometheus:v2.53.2"
}

variable "prometheus_retention" {
  description = "How long each gateway task's Prometheus keeps metrics (a Prometheus duration such as 24h); they live on the task's ephemeral storage and go when the task stops."
  type        = string
  default     = "24h"
}

variable "nats_image" {
  description = "NATS Streaming image for asynchronous invocations."
  type        = string
  default     = "nats-streaming:0.25.6"
}

variable "queue_workers" {
  description = "Queue-worker tasks for asynchronous invocations: each runs one job at a time."
  type        = number
  default     = 2

  validation {
    condition     = var.queue_workers >= 1 && floor(var.queue_workers) == var.queue_workers
    error_message = "queue_workers must be a whole number, at least 1."
  }
}

variable "queue_worker_image" {
  description = "OpenFaaS queue-worker image for asynchronous invocations."
  type        = string
  default     = "ghcr.io/openfaas/queue-worker:0.14.2"
}

# Behaviour

variable "enable_async" {
  description = "Run NATS and the queue-worker for asynchronous invocations (/async-function)."
  type        = bool
  default     = false
}

variable "gateway_count" {
  description = "Number of gateway + faas-ecs tasks."
  type        = number
  default     = 2
}

variable "timeout" {
  description = "Longest time a function may take to answer, for the gateway and faas-ecs: hours, minutes and seconds, such as 60s, 5m or 1m30s."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$", var.timeout)) && var.timeout != ""
    error_message = "timeout must be hours, minutes and seconds, such as 60s, 5m or 1m30s."
  }
}

variable "function_cpu" {
  description = "CPU units of a function without cpu limits or requests (1024 = 1 vCPU)."
  type        = number
  default     = 256
}

variable "function_memory" {
  description = "Memory (MiB) of a function without memory limits or requests."
  type        = number
  default     = 512
}

variable "function_capacity_providers" {
  description = "Capacity provider strategy of function services, e.g. \"FARGATE_SPOT:3,FARGATE:1\". Empty: Fargate."
  type        = string
  default     = ""
}

variable "function_task_role" {
  description = "Create a role for function code (the task role); attach policies to it through the role_name output."
  type        = bool
  default     = true
}

variable "namespaces" {
  description = "OpenFaaS namespaces to create besides the default one (openfaas-fn), each with the label openfaas=1."
  type        = list(string)
  default     = []
  validation {
    condition = alltrue([for n in var.namespaces :
    can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", n)) && n != "openfaas" && n != "openfaas-fn"])
    error_message = "Namespaces are DNS labels (lowercase letters, digits, '-', at most 63), not openfaas or openfaas-fn."
  }
}

variable "namespace_management" {
  description = "Let the API (faas-cli namespace create|update|remove) change namespaces. false: only those in var.namespaces exist, and the provider's role is denied changing them."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps function and gateway output."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key for log groups and secrets. Default: AWS-managed encryption."
  type        = string
  default     = null
}

variable "secret_prefix" {
  description = "Secrets Manager name prefix of OpenFaaS secrets; faas-ecs and the function execution role are limited to it."
  type        = string
  default     = "openfaas/"
}

variable "admin_user" {
  description = "User name for the gateway's basic auth."
  type        = string
  default     = "admin"
}

variable "profiles" {
  description = "Profiles functions pick with the com.openfaas.profile annotation (README, Profiles): name => where, on what and as whom its functions run. A profile's task_role_arn must be one of var.service_accounts' roles; one that sets security_groups should include the function_security_group_id output, which the gateway reaches functions through."
  type = map(object({
    launch_type = optional(string)
    capacity_provider_strategy = optional(list(object({
      capacity_provider = string
      weight            = optional(number, 1)
      base              = optional(number, 0)
    })))
    runtime_platform = optional(object({
      cpu_architecture        = optional(string)
      operating_system_family = optional(string)
    }))
    subnets               = optional(list(string))
    security_groups       = optional(list(string))
    assign_public_ip      = optional(bool)
    task_role_arn         = optional(string)
    ephemeral_storage_gib = optional(number)
    placement_constraints = optional(list(string))
    placement_strategy = optional(list(object({
      type  = string
      field = optional(string)
    })))
    gpu = optional(number)
  }))
  default = {}
  validation {
    condition     = alltrue([for name in keys(var.profiles) : can(regex("^[a-z0-9-]{1,63}$", name))])
    error_message = "Profile names are lowercase letters, digits and '-' (at most 63)."
  }
}

variable "service_accounts" {
  description = "Task roles functions ask for with the com.openfaas.serviceaccount annotation: name (any namespace) or namespace/name => role ARN. The provider may pass exactly these roles (iam:PassRole); each must trust ecs-tasks.amazonaws.com."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for name, arn in var.service_accounts : can(regex("^([a-z0-9-]{1,63}/)?[a-z0-9-]{1,63}$", name)) && can(regex("^arn:[^:]+:iam::[0-9]{12}:role/", arn))])
    error_message = "Keys are name or namespace/name (lowercase letters, digits, '-'); values are IAM role ARNs."
  }
}
