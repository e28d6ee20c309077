// Resource-scoped grants to Warden's system-assigned identity. Each assignment is scoped to ONE
// resource (never the resource group or subscription), with the narrowest built-in role that
// covers what Warden does there. The monitored-subscription custom role is assigned in
// monitored-subscription-rbac.bicep; Log Analytics Reader in workspace-reader.bicep.
param principalId string
param storageAccountName string
param keyVaultName string
param notifyTopicName string
param appInsightsName string
param eventHubNamespaceName string = ''
param eventHubName string = ''

@description('Optional: object id of a person granted Key Vault Secrets Officer on the vault (grantDeployerKeyVaultAccess).')
param deployerPrincipalId string = ''

// Built-in role definition ids (GUIDs are the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource notifyTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: notifyTopicName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = if (!empty(eventHubNamespaceName)) {
  name: empty(eventHubNamespaceName) ? 'unused' : eventHubNamespaceName
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = if (!empty(eventHubNamespaceName)) {
  parent: eventHubNamespace
  name: empty(eventHubName) ? 'unused' : eventHubName
}

// Functions host + Flex deployment package + Durable task hub blobs (leases, large payloads).
// Blob Data Owner is what the Functions host documents for identity-based AzureWebJobsStorage.
resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: Functions host storage, Flex deployment package, Durable task hub blobs.'
  }
}

// Durable Functions (Azure Storage provider) control and work-item queues.
resource storageQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: Durable Functions control and work-item queues.'
  }
}

// Durable history/instances tables and Warden's audit, quarantine, watermark and idempotency tables.
resource storageTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: Durable history/instances tables; audit, quarantine, watermark and idempotency tables.'
  }
}

// Read the signing key (Key Vault reference), write new key versions during rotation, update
// secret tags/expiry. Secrets only: no keys, no certificates, no vault management.
resource vaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: read the approval-link key; write rotated API keys as new secret versions on this vault only.'
  }
}

// Publish Warden's CloudEvents to its notifications topic (and nothing else).
resource notifyTopicSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(notifyTopic.id, principalId, roles.eventGridDataSender)
  scope: notifyTopic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: publish notifications to this topic only.'
  }
}

// Send telemetry to Application Insights with an Entra token (the component has local auth disabled).
resource appInsightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: send telemetry to this Application Insights component with Entra auth.'
  }
}

// Read Defender continuous-export messages from the one hub (optional).
resource eventHubReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(eventHubNamespaceName)) {
  name: guid(resourceId('Microsoft.EventHub/namespaces/eventhubs', empty(eventHubNamespaceName) ? 'unused' : eventHubNamespaceName, empty(eventHubName) ? 'unused' : eventHubName), principalId, roles.eventHubsDataReceiver)
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Warden: receive Defender continuous-export messages from this event hub only.'
  }
}

// Optional: the person running azd, e.g. to tag secrets for rotation. Off by default.
resource deployerSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, empty(deployerPrincipalId) ? 'none' : deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: 'User'
    description: 'Deployer (azd principalId): manage secrets on Warden\'s vault only.'
  }
}
