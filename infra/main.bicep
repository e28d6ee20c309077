// Warden: everything `azd up` provisions.
//
// Target scope: SUBSCRIPTION. Warden needs three things that a resource-group deployment cannot
// create: the resource group itself (azd convention rg-<environmentName>), a custom role
// definition plus its assignment at the monitored subscription(s), and the subscription's
// Activity Log diagnostic setting (so AzureActivity reaches the workspace Warden queries).
// Everything else lives in one resource group, built by the modules under ./modules.
//
// Two-phase wiring: an Event Grid subscription whose endpoint is a Function (endpointType
// AzureFunction) is validated against the deployed function, which does not exist until
// `azd deploy` has published the code. So the first `azd provision` creates every resource but
// the function-facing event subscriptions (wireEventSubscriptions=false); the postdeploy hook in
// azure.yaml sets WARDEN_WIRE_EVENT_SUBSCRIPTIONS=true and provisions again.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// azd conventions
// ---------------------------------------------------------------------------------------------
@minLength(1)
@maxLength(64)
@description('azd environment name; used in resource names and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Azure region for every regional resource. Must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string

@description('Object id of the person running azd (azd fills it in). Used only when grantDeployerKeyVaultAccess is true.')
param principalId string = ''

// ---------------------------------------------------------------------------------------------
// Warden settings
// ---------------------------------------------------------------------------------------------
@description('Comma-separated subscription ids Warden monitors and may act on (custom role assigned in each). Empty = the deployment subscription.')
param monitoredSubscriptionIds string = ''

@description('Comma-separated resource ids of Key Vaults (RBAC mode) that hold account keys under the dual-credential tags. Warden gets Key Vault Secrets Officer on each and rotates the keys stored there (WARDEN_KEY_VAULTS).')
param keyVaultResourceIds string = ''

@description('Durable Functions task hub name (WARDEN_TASK_HUB; host.json reads %WARDEN_TASK_HUB%).')
@minLength(3)
@maxLength(45)
param taskHubName string = 'WardenHub'

@description('App role whose members may approve response steps (WARDEN_APPROVER_ROLE).')
param approverRole string = 'Warden.Approver'

@description('Start in dry-run mode: plan and record every response step, change nothing (WARDEN_DRY_RUN).')
param dryRun bool = true

@secure()
@minLength(32)
@description('HMAC key for one-click approval links. Stored in Key Vault; the app reads it through a Key Vault reference.')
param linkSigningKey string

@secure()
@description('Optional Teams incoming-webhook URL. Stored in Key Vault when set.')
param teamsWebhookUrl string = ''

@description('Resource id of an existing Log Analytics workspace that holds SecurityAlert/AzureActivity. Empty = the workspace this template creates.')
param securityAlertsWorkspaceResourceId string = ''

// ---------------------------------------------------------------------------------------------
// Defender for Cloud routes
// ---------------------------------------------------------------------------------------------
@description('Create the Defender workflow automation (Microsoft.Security/automations) that triggers the forwarding Logic App.')
param enableDefenderWorkflowAutomation bool = true

@description('Create an Event Hub namespace + hub and point Defender continuous export at it.')
param enableContinuousExport bool = false

@description('Also continuously export the filtered alerts to the Log Analytics workspace (SecurityAlert table, used by the poller).')
param exportAlertsToWorkspace bool = true

@description('AlertType prefixes forwarded to Warden (rule sets are OR-ed). Defaults cover Defender for AI services alerts.')
param alertTypePrefixes array = [
  'AI.'
  'Azure_Agentic_'
]

@description('Send the deployment subscription\'s Activity Log to the workspace (AzureActivity), which the key-hygiene queries read.')
param enableActivityLogExport bool = true

@description('Subscribe Warden to the deployment subscription\'s resource events (creates a subscription system topic; only one may exist per subscription).')
param enableSubscriptionEvents bool = true

@description('Create the Event Grid subscriptions that deliver to the Function. Needs the code deployed first (see the postdeploy hook).')
param wireEventSubscriptions bool = false

// ---------------------------------------------------------------------------------------------
// App Service Authentication (Easy Auth) for the approval routes
// ---------------------------------------------------------------------------------------------
@description('Client (application) id of the Entra app registration for sign-in. Bicep cannot create app registrations; create it first (docs/deploy.md). Empty = authentication not configured.')
param authClientId string = ''

@secure()
@description('Client secret of that app registration (stored in Key Vault). Empty = ID-token-only sign-in.')
param authClientSecret string = ''

@description('Tenant that issues sign-in tokens. Defaults to the deployment tenant.')
param authTenantId string = tenant().tenantId

// ---------------------------------------------------------------------------------------------
// Sizing and optional grants
// ---------------------------------------------------------------------------------------------
@description('Flex Consumption: maximum instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption: instance memory in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption zone redundancy; only in regions that offer it, and needs storageSkuName Standard_ZRS or Standard_GZRS.')
param zoneRedundant bool = false

@description('Redundancy of Warden\'s storage (host state, task hub, audit trail, dead-letters).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param storageSkuName string = 'Standard_GRS'

@description('Grant the deploying person (principalId) Key Vault Secrets Officer on Warden\'s vault, e.g. to set rotation tags by hand.')
param grantDeployerKeyVaultAccess bool = false

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'warden'
}
var monitored = empty(monitoredSubscriptionIds) ? [
  subscription().subscriptionId
] : split(replace(monitoredSubscriptionIds, ' ', ''), ',')

var keyVaults = empty(keyVaultResourceIds) ? [] : split(replace(keyVaultResourceIds, ' ', ''), ',')

var names = {
  resourceGroup: 'rg-${environmentName}'
  functionApp: 'func-warden-${resourceToken}'
  plan: 'plan-warden-${resourceToken}'
  storage: take('stwarden${resourceToken}', 24)
  keyVault: take('kv-warden-${resourceToken}', 24)
  workspace: 'log-warden-${resourceToken}'
  appInsights: 'appi-warden-${resourceToken}'
  defenderTopic: 'evgt-warden-alerts-${resourceToken}'
  notifyTopic: 'evgt-warden-notify-${resourceToken}'
  logicApp: 'logic-warden-defender-${resourceToken}'
  eventHubNamespace: 'evhns-warden-${resourceToken}'
  eventHub: 'defender-alerts'
  eventHubConsumerGroup: 'warden'
  eventHubSendRule: 'defender-export-send'
  deploymentContainer: 'app-package-warden'
  deadLetterContainer: 'eventgrid-deadletter'
}

// The exact control-plane actions Warden performs in a monitored subscription. Nothing else:
// no wildcards, no Microsoft.Authorization writes. See docs/deploy.md "Role grants".
var wardenResponderActions = [
  // inventory and posture (disableLocalAuth, networkAcls) of Azure OpenAI / AI Services accounts
  'Microsoft.CognitiveServices/accounts/read'
  // containment: PATCH disableLocalAuth / networkAcls / publicNetworkAccess
  'Microsoft.CognitiveServices/accounts/write'
  // zero-downtime rotation: read the standby key, regenerate the exposed one
  'Microsoft.CognitiveServices/accounts/listKeys/action'
  'Microsoft.CognitiveServices/accounts/regenerateKey/action'
  // containment of model deployments: read, scale to zero / restore, delete
  'Microsoft.CognitiveServices/accounts/deployments/read'
  'Microsoft.CognitiveServices/accounts/deployments/write'
  'Microsoft.CognitiveServices/accounts/deployments/delete'
  // read the content-filter (RAI) policy attached to a deployment
  'Microsoft.CognitiveServices/accounts/raiPolicies/read'
  // containment: create Warden's strict RAI policy on an account that lacks it
  'Microsoft.CognitiveServices/accounts/raiPolicies/write'
  // posture: does the account send diagnostics anywhere (only asked for accounts silent in the workspace)
  'Microsoft.Insights/diagnosticSettings/read'
  // posture: is the Defender for AI services plan on in the subscription
  'Microsoft.Security/pricings/read'
  // Azure Resource Graph inventory query (POST /providers/Microsoft.ResourceGraph/resources).
  // Rows are still trimmed to resources the caller can read (accounts/read above).
  'Microsoft.ResourceGraph/resources/read'
  // subscription and resource-group metadata used to scope and label ARG results
  'Microsoft.Resources/subscriptions/read'
  'Microsoft.Resources/subscriptions/resourceGroups/read'
]

// ---------------------------------------------------------------------------------------------
// Resource group
// ---------------------------------------------------------------------------------------------
resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------
// Observability, storage, secrets
// ---------------------------------------------------------------------------------------------
module monitoring 'modules/monitoring.bicep' = {
  name: 'warden-monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
  }
}

module storage 'modules/storage.bicep' = {
  name: 'warden-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
    deadLetterContainerName: names.deadLetterContainer
    skuName: storageSkuName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'warden-keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    keyVaultName: names.keyVault
    linkSigningKey: linkSigningKey
    teamsWebhookUrl: teamsWebhookUrl
    authClientSecret: authClientSecret
  }
}

// ---------------------------------------------------------------------------------------------
// Event Grid custom topics: Defender alerts in, Warden notifications out
// ---------------------------------------------------------------------------------------------
module defenderTopic 'modules/eventgrid-topic.bicep' = {
  name: 'warden-defender-topic'
  scope: rg
  params: {
    location: location
    tags: tags
    topicName: names.defenderTopic
  }
}

module notifyTopic 'modules/eventgrid-topic.bicep' = {
  name: 'warden-notify-topic'
  scope: rg
  params: {
    location: location
    tags: tags
    topicName: names.notifyTopic
    inputSchema: 'CloudEventSchemaV1_0'
  }
}

module eventHub 'modules/eventhub.bicep' = if (enableContinuousExport) {
  name: 'warden-eventhub'
  scope: rg
  params: {
    location: location
    tags: tags
    namespaceName: names.eventHubNamespace
    eventHubName: names.eventHub
    consumerGroupName: names.eventHubConsumerGroup
    sendRuleName: names.eventHubSendRule
  }
}

// ---------------------------------------------------------------------------------------------
// The Function App
// ---------------------------------------------------------------------------------------------
// Where SecurityAlert / AzureActivity live: the workspace created here, or an existing one. The
// scope is computed from names known at deployment start (module scopes cannot use outputs).
var alertsWorkspaceSubscriptionId = empty(securityAlertsWorkspaceResourceId) ? subscription().subscriptionId : split(securityAlertsWorkspaceResourceId, '/')[2]
var alertsWorkspaceResourceGroup = empty(securityAlertsWorkspaceResourceId) ? names.resourceGroup : split(securityAlertsWorkspaceResourceId, '/')[4]
var alertsWorkspaceName = empty(securityAlertsWorkspaceResourceId) ? names.workspace : last(split(securityAlertsWorkspaceResourceId, '/'))
var alertsWorkspaceId = resourceId(alertsWorkspaceSubscriptionId, alertsWorkspaceResourceGroup, 'Microsoft.OperationalInsights/workspaces', alertsWorkspaceName)

module alertsWorkspace 'modules/workspace-info.bicep' = {
  name: 'warden-alerts-workspace'
  scope: resourceGroup(alertsWorkspaceSubscriptionId, alertsWorkspaceResourceGroup)
  params: {
    workspaceName: alertsWorkspaceName
  }
  dependsOn: [
    monitoring
  ]
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'warden-functionapp'
  scope: rg
  params: {
    location: location
    tags: tags
    functionAppName: names.functionApp
    planName: names.plan
    storageAccountName: storage.outputs.name
    deploymentContainerName: names.deploymentContainer
    appInsightsName: monitoring.outputs.appInsightsName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    taskHubName: taskHubName
    monitoredSubscriptionIds: monitored
    keyVaultNames: [for id in keyVaults: last(split(id, '/'))]
    logAnalyticsWorkspaceCustomerId: alertsWorkspace.outputs.customerId
    notifyTopicEndpoint: notifyTopic.outputs.endpoint
    approverRole: approverRole
    dryRun: dryRun
    linkSigningKeySecretUri: keyVault.outputs.linkSigningKeySecretUri
    teamsWebhookSecretUri: keyVault.outputs.teamsWebhookSecretUri
    authClientSecretUri: keyVault.outputs.authClientSecretUri
    eventHubNamespaceFqdn: enableContinuousExport ? eventHub.outputs.fullyQualifiedNamespace : ''
    eventHubName: enableContinuousExport ? names.eventHub : ''
    eventHubConsumerGroup: enableContinuousExport ? names.eventHubConsumerGroup : ''
    authClientId: authClientId
    authTenantId: authTenantId
    zoneRedundant: zoneRedundant
  }
}

// ---------------------------------------------------------------------------------------------
// Least-privilege grants to Warden's managed identity (resource scope; see modules/rbac.bicep)
// ---------------------------------------------------------------------------------------------
module rbac 'modules/rbac.bicep' = {
  name: 'warden-rbac'
  scope: rg
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    notifyTopicName: notifyTopic.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    eventHubNamespaceName: enableContinuousExport ? names.eventHubNamespace : ''
    eventHubName: enableContinuousExport ? names.eventHub : ''
    deployerPrincipalId: grantDeployerKeyVaultAccess ? principalId : ''
  }
  dependsOn: [
    eventHub
  ]
}

// Log Analytics Reader on the workspace only (it may live in another resource group).
module workspaceReader 'modules/workspace-reader.bicep' = {
  name: 'warden-workspace-reader'
  scope: resourceGroup(alertsWorkspaceSubscriptionId, alertsWorkspaceResourceGroup)
  params: {
    workspaceName: alertsWorkspaceName
    principalId: functionApp.outputs.principalId
  }
  dependsOn: [
    monitoring
  ]
}

// Custom role with exactly the actions above, assignable only in the monitored subscriptions.
resource responderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'warden-responder', environmentName)
  properties: {
    roleName: 'Warden Responder (${environmentName}, ${take(subscription().subscriptionId, 8)})'
    description: 'Least-privilege role for Warden: inventory, key rotation and deployment containment of Azure OpenAI / AI Services accounts. No data actions, no authorization writes.'
    type: 'CustomRole'
    permissions: [
      {
        actions: wardenResponderActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [for subscriptionId in monitored: '/subscriptions/${subscriptionId}']
  }
}

module monitoredScope 'modules/monitored-subscription-rbac.bicep' = [for subscriptionId in monitored: {
  name: 'warden-responder-${take(subscriptionId, 8)}'
  scope: subscription(subscriptionId)
  params: {
    roleDefinitionId: responderRole.id
    principalId: functionApp.outputs.principalId
  }
}]

// Key Vault Secrets Officer on each customer vault that stores account keys (rotation).
module keyVaultAccess 'modules/key-vault-access.bicep' = [for id in keyVaults: {
  name: 'warden-kv-access-${uniqueString(id)}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vaultName: last(split(id, '/'))
    principalId: functionApp.outputs.principalId
  }
}]

// ---------------------------------------------------------------------------------------------
// Defender for Cloud -> Warden (workflow automation + Logic App; optional continuous export)
// ---------------------------------------------------------------------------------------------
module defenderIntake 'modules/defender-intake.bicep' = {
  name: 'warden-defender-intake'
  scope: rg
  params: {
    location: location
    tags: tags
    logicAppName: names.logicApp
    defenderTopicName: defenderTopic.outputs.name
    defenderTopicEndpoint: defenderTopic.outputs.endpoint
    alertTypePrefixes: alertTypePrefixes
    enableWorkflowAutomation: enableDefenderWorkflowAutomation
    enableEventHubExport: enableContinuousExport
    // Constant names: the resource ids stay well-formed even when the hub is not deployed.
    eventHubNamespaceName: names.eventHubNamespace
    eventHubName: names.eventHub
    eventHubSendRuleName: names.eventHubSendRule
    exportToWorkspace: exportAlertsToWorkspace
    workspaceResourceId: alertsWorkspaceId
  }
  dependsOn: [
    alertsWorkspace
    eventHub
  ]
}

// ---------------------------------------------------------------------------------------------
// Event Grid -> Function: Defender topic, Key Vault system topic, subscription system topic
// ---------------------------------------------------------------------------------------------
module eventSubscriptions 'modules/event-subscriptions.bicep' = {
  name: 'warden-event-subscriptions'
  scope: rg
  params: {
    location: location
    tags: tags
    functionAppName: functionApp.outputs.name
    keyVaultName: keyVault.outputs.name
    defenderTopicName: defenderTopic.outputs.name
    storageAccountName: storage.outputs.name
    deadLetterContainerName: names.deadLetterContainer
    wireSubscriptions: wireEventSubscriptions
    enableSubscriptionEvents: enableSubscriptionEvents
  }
}

// ---------------------------------------------------------------------------------------------
// Activity Log -> workspace (AzureActivity), for the key-hygiene and out-of-band-key queries
// ---------------------------------------------------------------------------------------------
resource activityLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (enableActivityLogExport) {
  name: 'warden-activity-log'
  properties: {
    workspaceId: alertsWorkspaceId
    logs: [
      {
        category: 'Administrative'
        enabled: true
      }
      {
        category: 'Security'
        enabled: true
      }
      {
        category: 'Policy'
        enabled: true
      }
    ]
  }
  dependsOn: [
    alertsWorkspace
  ]
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd writes AZURE_* outputs into the environment's .env)
// ---------------------------------------------------------------------------------------------
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_FUNCTION_APP_PRINCIPAL_ID string = functionApp.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = alertsWorkspaceId
output AZURE_DEFENDER_TOPIC_NAME string = defenderTopic.outputs.name
output AZURE_DEFENDER_TOPIC_ENDPOINT string = defenderTopic.outputs.endpoint
output AZURE_NOTIFY_TOPIC_ENDPOINT string = notifyTopic.outputs.endpoint
output AZURE_LOGIC_APP_NAME string = defenderIntake.outputs.logicAppName
output AZURE_RESPONDER_ROLE_ID string = responderRole.id
output WARDEN_WIRE_EVENT_SUBSCRIPTIONS bool = wireEventSubscriptions
