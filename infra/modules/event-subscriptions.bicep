// Event Grid -> Warden's Function App. Three sources:
//   - the Defender custom topic (alerts forwarded by the Logic App)   -> on_defender_alert_event
//   - a system topic on Warden's Key Vault (SecretNearExpiry/Expired)  -> on_key_vault_event
//   - a system topic on the deployment subscription (resource write / action success), filtered
//     with an advanced filter to Microsoft.CognitiveServices          -> on_resource_event
// Every subscription has a retry policy and a dead-letter container. Dead-letters are written
// with the topic's system-assigned identity (the storage account has shared keys disabled), which
// holds Storage Blob Data Contributor on the dead-letter CONTAINER only.
param location string
param tags object
param functionAppName string
param keyVaultName string
param defenderTopicName string
param storageAccountName string
param deadLetterContainerName string

@description('Create the subscriptions that deliver to the Function (needs the code deployed: the endpoint is validated).')
param wireSubscriptions bool = false

@description('Create the subscription system topic and its subscription (false when the subscription already has a system topic: only one is allowed).')
param enableSubscriptionEvents bool = true

@description('Retry policy shared by every subscription: attempts and event time-to-live (minutes).')
param maxDeliveryAttempts int = 30
param eventTimeToLiveInMinutes int = 1440

var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource defenderTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: defenderTopicName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource keyVaultTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${keyVaultName}-events'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

// One subscription system topic per subscription is allowed; if yours already has one, set
// enableSubscriptionEvents=false and see docs/deploy.md ("Existing subscription system topic").
resource subscriptionTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (enableSubscriptionEvents) {
  name: 'warden-subscription-events-${uniqueString(subscription().id, resourceGroup().id)}'
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

// Dead-letter writers: each topic's identity on the dead-letter container only.
resource defenderTopicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, defenderTopic.id, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: defenderTopic.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid Defender topic: write dead-lettered events to this container only.'
  }
}

resource keyVaultTopicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, keyVaultTopic.id, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: keyVaultTopic.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid Key Vault system topic: write dead-lettered events to this container only.'
  }
}

resource subscriptionTopicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableSubscriptionEvents) {
  name: guid(deadLetterContainer.id, subscriptionTopic.id, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: subscriptionTopic.identity.principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid subscription system topic: write dead-lettered events to this container only.'
  }
}

var retryPolicy = {
  maxDeliveryAttempts: maxDeliveryAttempts
  eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
}

var deadLetter = {
  identity: {
    type: 'SystemAssigned'
  }
  deadLetterDestination: {
    endpointType: 'StorageBlob'
    properties: {
      resourceId: storage.id
      blobContainerName: deadLetterContainerName
    }
  }
}

resource defenderAlertsToFunction 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = if (wireSubscriptions) {
  parent: defenderTopic
  name: 'warden-on-defender-alert-event'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/on_defender_alert_event'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Warden.DefenderForCloud.Alert'
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
  dependsOn: [
    defenderTopicDeadLetterWriter
    keyVaultTopicDeadLetterWriter
    subscriptionTopicDeadLetterWriter
  ]
}

resource keyVaultToFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (wireSubscriptions) {
  parent: keyVaultTopic
  name: 'warden-on-key-vault-event'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/on_key_vault_event'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.SecretNearExpiry'
        'Microsoft.KeyVault.SecretExpired'
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
  dependsOn: [
    defenderTopicDeadLetterWriter
    keyVaultTopicDeadLetterWriter
    subscriptionTopicDeadLetterWriter
  ]
}

resource resourceEventsToFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (wireSubscriptions && enableSubscriptionEvents) {
  parent: subscriptionTopic
  name: 'warden-on-resource-event'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionApp.id}/functions/on_resource_event'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceActionSuccess'
      ]
      // Only Azure OpenAI / AI Services control-plane operations (e.g. listKeys, regenerateKey,
      // deployments/write). data.resourceProvider is e.g. "Microsoft.CognitiveServices".
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.resourceProvider'
          values: [
            'Microsoft.CognitiveServices'
          ]
        }
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
  dependsOn: [
    defenderTopicDeadLetterWriter
    keyVaultTopicDeadLetterWriter
    subscriptionTopicDeadLetterWriter
  ]
}

output keyVaultTopicName string = keyVaultTopic.name
output subscriptionTopicName string = enableSubscriptionEvents ? subscriptionTopic.name : ''
